"""`collector devices`: ODK Collect app users, their tokens, QR codes and forms."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import fail, json_option, main, print_rows
from collector.db import get_session
from collector.devices import collect_settings, device_url, qr_code, save_qr, write_qr
from collector.ops import publicurl
from ingest.accounts.admin import add_device, end_device, set_device_forms
from ingest.errors import IngestError
from ingest.models import Device
from ingest.publishing.versions import ensure_project


@main.group()
def devices():
    """Manage devices (ODK Collect app users)."""


def warn_public_url() -> None:
    """Warn on stderr when QR codes would point where tablets cannot go (collector.ops.publicurl.warnings)."""
    for line in publicurl.warnings(current_app):
        click.secho(line, fg="yellow", err=True)


def show_device(device, project_name: str) -> None:
    """Print a device's server URL, its QR code in the terminal, and where the PNG and SVG are."""
    url = device_url(current_app.config["PUBLIC_URL"], device)
    settings = collect_settings(url, project_name)
    png, svg = save_qr(settings, Path(current_app.instance_path) / "qr", f"device-{device.id}")
    click.echo(f"Device '{device.display_name}' (id {device.id})")
    click.echo(f"  ODK Collect server URL: {url}")
    click.echo(f"  QR code image: {png}")
    click.echo(f"  QR code SVG:   {svg}")
    click.echo("  Scan this in ODK Collect (Configure with QR code):")
    qr_code(settings).terminal(compact=True, border=2)
    warn_public_url()


@devices.command("create")
@click.argument("name")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("--province", default=None, help="Two-digit province code of the device.")
@click.option("--form", "form_ids", multiple=True, help="Form the device may fill (repeatable; default: every form).")
@with_appcontext
def devices_create(name, project_id, province, form_ids):
    """Create a device and print its token URL and QR code."""

    session = get_session()
    project = ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    try:
        device = add_device(session, project_id, name, province, list(form_ids) or None, via="cli")
    except IngestError as exc:
        fail(exc.message)
    session.commit()
    show_device(device, project.name)


@devices.command("list")
@click.option("--project", "project_id", default=1, show_default=True)
@json_option
@with_appcontext
def devices_list(project_id, as_json):
    """List devices: id, active or revoked, province, name and the forms they may fill."""

    rows = [
        {
            "id": device.id,
            "state": "revoked" if device.revoked_at else "active",
            "province": device.province_code,
            "name": device.display_name,
            "forms": [f.xml_form_id for f in device.forms],
        }
        for device in get_session().scalars(select(Device).where(Device.project_id == project_id).order_by(Device.id))
    ]
    print_rows(["id", "state", "province", "name", "forms"], rows, as_json)


@devices.command("qr")
@click.argument("device_id", type=int)
@click.option(
    "--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as PNG here."
)
@click.option(
    "--svg", "svg_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the QR as SVG here."
)
@with_appcontext
def devices_qr(device_id, png_path, svg_path):
    """Show a device's QR code again (in the terminal; --png/--svg: also as files, readable by you only)."""

    session = get_session()
    device = session.get(Device, device_id)
    if device is None:
        fail(f"No device with id {device_id}.")
    if device.revoked_at is not None:
        fail(f"Device {device_id} is revoked: its QR code no longer works. Create a new device.")
    project = ensure_project(session, device.project_id, current_app.config["PROJECT_NAME"])
    settings = collect_settings(device_url(current_app.config["PUBLIC_URL"], device), project.name)
    for path, kind in ((png_path, "png"), (svg_path, "svg")):
        if path is not None:
            write_qr(settings, path, kind)
            click.echo(f"Wrote {path}")
    click.echo(f"Device '{device.display_name}' (id {device.id}): scan this in ODK Collect (Configure with QR code):")
    qr_code(settings).terminal(compact=True, border=2)
    warn_public_url()


@devices.command("assign")
@click.argument("device_id", type=int)
@click.argument("form_ids", nargs=-1)
@click.option("--all", "all_forms", is_flag=True, help="Assign every form of the project.")
@with_appcontext
def devices_assign(device_id, form_ids, all_forms):
    """Set the forms a device may list and fill."""

    session = get_session()
    device = session.get(Device, device_id)
    if device is None:
        fail(f"No device with id {device_id}.")
    try:
        set_device_forms(session, device, None if all_forms else list(form_ids), via="cli")
    except IngestError as exc:
        fail(exc.message)
    session.commit()
    click.echo(f"Device {device_id} may fill: {', '.join(f.xml_form_id for f in device.forms) or 'nothing'}.")


@devices.command("revoke")
@click.argument("device_id", type=int)
@with_appcontext
def devices_revoke(device_id):
    """Revoke a device's token at once."""

    session = get_session()
    device = session.get(Device, device_id)
    if device is None:
        fail(f"No device with id {device_id}.")
    end_device(session, device, via="cli")
    session.commit()
    click.echo(f"Revoked device {device_id}.")
