"""The `collector` command line: database, forms, users, devices, submissions and set-up."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from collector import create_app
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, qr_code, save_qr
from forms import find_media
from forms.fields import input_questions
from ingest.publishing import FORM_STATES
from ingest import audit
from ingest.errors import IngestError


def _app_factory():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=False, add_version_option=False)
def main():
    """Run and manage the trafficking case collection server."""


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


# --- database -------------------------------------------------------------------------------

@main.group()
def db():
    """Manage the database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply every Alembic migration (creates the database on first run)."""
    upgrade_database(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


def upgrade_database(url: str) -> None:
    """Run `alembic upgrade head` on `url`."""
    from importlib.util import find_spec

    from alembic import command
    from alembic.config import Config

    # Locate the migrations folder without importing it (it sits above this layer).
    location = find_spec("migrations").submodule_search_locations[0]
    config = Config()
    config.set_main_option("script_location", location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


# --- forms ----------------------------------------------------------------------------------

@main.group()
def forms():
    """Check and publish XLSForms."""


def _print_problems(problems) -> None:
    for problem in problems:
        colour = "red" if problem.level == "error" else "yellow"
        where = ", ".join(x for x in (f"sheet '{problem.sheet}'" if problem.sheet else "",
                                      f"row {problem.row}" if problem.row else "") if x)
        click.secho(f"  {problem.level}{' (' + where + ')' if where else ''}: {problem.message}", fg=colour, err=True)


@forms.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def forms_check(paths, strict):
    """Convert and validate XLSForms without publishing; exit 1 on any error."""
    from forms.compiler import FormError, compile_xlsform

    failed = False
    for path in paths:
        try:
            compiled = compile_xlsform(path, strict=strict)
        except FormError as exc:
            failed = True
            click.secho(f"{path}: {exc.summary}", fg="red", err=True)
            _print_problems(exc.problems)
            continue
        click.secho(f"{path}: OK ({compiled.form_id} version {compiled.version}, "
                    f"{len(input_questions(compiled.fields))} questions, "
                    f"{sum(1 for f in compiled.fields if f['sensitive'])} sensitive)", fg="green")
        _print_problems(compiled.warnings)
    sys.exit(1 if failed else 0)


@forms.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", default=1, show_default=True, help="Project to publish into.")
@click.option("--media", "media_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A media file the form references (repeatable).")
@click.option("--force", is_flag=True, help="Publish even when referenced media are missing.")
@click.option("--strict", is_flag=True, help="Refuse forms with warnings.")
@with_appcontext
def forms_publish(paths, project_id, media_files, force, strict):
    """Convert, validate and publish XLSForms; exit 1 on the first refused form."""
    publish_paths(paths, project_id, media_files, force=force, strict=strict)


def publish_paths(paths, project_id: int, media_files=(), *, force=False, strict=False) -> None:
    """Publish each XLSForm, printing what happened; exit 1 when one is refused."""
    from forms.compiler import FormError, compile_xlsform
    from ingest.publishing import ensure_project, publish

    session = get_session()
    ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    session.commit()
    for path in paths:
        try:
            compiled = compile_xlsform(path, validate=current_app.config["VALIDATE_FORMS"], strict=strict)
        except FormError as exc:
            click.secho(f"{path}: {exc.summary}", fg="red", err=True)
            _print_problems(exc.problems)
            sys.exit(1)
        try:
            result = publish(session, get_store(), project_id, compiled, find_media(path, compiled.media, media_files),
                             force=force)
            audit.record(session, "form.publish", f"form:{compiled.form_id}", version=compiled.version)
            session.commit()
        except IngestError as exc:
            session.rollback()
            _fail(f"{path}: {exc.message}")
        state = "published" if result.created else "already published"
        click.echo(f"{path.name}: {compiled.form_id} version {compiled.version} {state}")
        if result.missing_media:
            click.secho(f"  missing media: {', '.join(result.missing_media)}", fg="yellow")


@forms.command("push", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", required=True, help="Base URL of the server, e.g. https://atip.example.la")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("--email", default=None, help="Your web user email (asked for when missing).")
@click.option("--token", default=None, envvar="COLLECTOR_TOKEN", help="A bearer token instead of email and password.")
@click.option("--media", "media_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A media file the form references (repeatable).")
@click.option("--publish", "do_publish", is_flag=True, help="Publish the draft after uploading it.")
@click.option("--force", is_flag=True, help="Publish even when media are missing.")
@click.option("--strict", is_flag=True, help="Refuse forms with warnings.")
@click.option("--no-validate", is_flag=True, help="Skip the local ODK Validate run (needs Java).")
def forms_push(path, server, project_id, email, token, media_files, do_publish, force, strict, no_validate):
    """Upload an XLSForm to a remote server as a draft (and publish it), over the JSON API."""
    from collector.push import push

    sys.exit(push(path, server, project_id, email=email, token=token, media_files=media_files,
                  publish=do_publish, force=force, strict=strict, validate=not no_validate))


@forms.command("state")
@click.argument("xml_form_id")
@click.argument("state", type=click.Choice(FORM_STATES))
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def forms_state(xml_form_id, state, project_id):
    """Open a form, or close it: closing hides it from tablets but still accepts data; closed refuses data."""
    from ingest.models import Form
    from ingest.publishing import set_state

    session = get_session()
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        _fail(f"No form '{xml_form_id}' in project {project_id}.")
    set_state(session, form, state)
    audit.record(session, "form.state", f"form:{xml_form_id}", state=state, via="cli")
    session.commit()
    click.echo(f"{xml_form_id} is now {state}.")


@forms.command("list")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def forms_list(project_id):
    """List forms with their current version and state."""
    from ingest.models import Form
    from ingest.publishing import current_version

    session = get_session()
    for form in session.scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)):
        version = current_version(session, form)
        click.echo(f"{form.xml_form_id}\t{version.version if version else '-'}\t{form.state}\t{version.title if version else ''}")


# --- users ----------------------------------------------------------------------------------

@main.group()
def users():
    """Manage web users (trainers and ministry staff)."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "manager", "viewer"]), default="viewer", show_default=True)
@click.option("--province", default=None, help="Two-digit province code limiting what the user may read.")
@click.option("--password-file", type=click.File("r"), help="Read the password from this file.")
@with_appcontext
def users_create(email, role, province, password_file):
    """Create a web user; the password comes from --password-file, COLLECTOR_PASSWORD or a prompt."""
    from ingest.accounts import create_user

    if password_file is not None:
        password = password_file.read().rstrip("\n")
    elif os.environ.get("COLLECTOR_PASSWORD"):
        password = os.environ["COLLECTOR_PASSWORD"]
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        _fail("No password: use --password-file, COLLECTOR_PASSWORD, or run in a terminal.")
    session = get_session()
    try:
        user = create_user(session, email, password, role, province_code=province)
        audit.record(session, "user.create", f"user:{user.id}", role=role)
        session.commit()
    except IngestError as exc:
        _fail(exc.message)
    click.echo(f"Created {role} {user.email} (id {user.id}).")


# --- devices --------------------------------------------------------------------------------

@main.group()
def devices():
    """Manage devices (ODK Collect app users)."""


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


@devices.command("create")
@click.argument("name")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("--province", default=None, help="Two-digit province code of the device.")
@click.option("--form", "form_ids", multiple=True, help="Form the device may fill (repeatable; default: every form).")
@with_appcontext
def devices_create(name, project_id, province, form_ids):
    """Create a device and print its token URL and QR code."""
    from ingest.accounts import create_device
    from ingest.publishing import ensure_project

    session = get_session()
    project = ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    try:
        device = create_device(session, project_id, name, province, list(form_ids) or None)
    except IngestError as exc:
        _fail(exc.message)
    audit.record(session, "device.create", f"device:{device.id}", via="cli")
    session.commit()
    show_device(device, project.name)


@devices.command("list")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def devices_list(project_id):
    """List devices and whether they are revoked."""
    from ingest.models import Device

    for device in get_session().scalars(select(Device).where(Device.project_id == project_id).order_by(Device.id)):
        state = "revoked" if device.revoked_at else "active"
        forms_text = ",".join(f.xml_form_id for f in device.forms) or "-"
        click.echo(f"{device.id}\t{state}\t{device.province_code or '-'}\t{device.display_name}\t{forms_text}")


@devices.command("assign")
@click.argument("device_id", type=int)
@click.argument("form_ids", nargs=-1)
@click.option("--all", "all_forms", is_flag=True, help="Assign every form of the project.")
@with_appcontext
def devices_assign(device_id, form_ids, all_forms):
    """Set the forms a device may list and fill."""
    from ingest.accounts import assign_forms
    from ingest.models import Device

    session = get_session()
    device = session.get(Device, device_id)
    if device is None:
        _fail(f"No device with id {device_id}.")
    try:
        assign_forms(session, device, None if all_forms else list(form_ids))
    except IngestError as exc:
        _fail(exc.message)
    audit.record(session, "device.assign", f"device:{device.id}", via="cli")
    session.commit()
    click.echo(f"Device {device_id} may fill: {', '.join(f.xml_form_id for f in device.forms) or 'nothing'}.")


@devices.command("revoke")
@click.argument("device_id", type=int)
@with_appcontext
def devices_revoke(device_id):
    """Revoke a device's token at once."""
    from ingest.accounts import revoke_device
    from ingest.models import Device

    session = get_session()
    device = session.get(Device, device_id)
    if device is None:
        _fail(f"No device with id {device_id}.")
    revoke_device(session, device)
    audit.record(session, "device.revoke", f"device:{device.id}")
    session.commit()
    click.echo(f"Revoked device {device_id}.")


# --- submissions ----------------------------------------------------------------------------

@main.group()
def submissions():
    """Read received submissions."""


@submissions.command("list")
@click.argument("xml_form_id")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def submissions_list(xml_form_id, project_id):
    """Print a form's submissions with their normalised values, one JSON object a line."""
    from collector.api import submission_json
    from ingest.models import Form
    from ingest.queries import submissions_of

    session = get_session()
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        _fail(f"No form '{xml_form_id}' in project {project_id}.")
    count = 0
    with current_app.test_request_context():
        for sub in session.scalars(submissions_of(form)):
            click.echo(json.dumps(submission_json(sub), ensure_ascii=False))
            count += 1
    audit.record(session, "submission.list", f"form:{xml_form_id}", via="cli", count=count)
    session.commit()
    click.echo(f"{count} submission(s).", err=True)


# --- ingest ---------------------------------------------------------------------------------

@main.group()
def ingest():
    """Rebuild derived data from what was received."""


@ingest.command("replay")
@click.argument("xml_form_id", required=False)
@with_appcontext
def ingest_replay(xml_form_id):
    """Rebuild the normalised rows of every stored submission (or one form's) from the raw XML."""
    from ingest.models import Form, SubmissionVersion
    from ingest.submissions import replay

    session = get_session()
    query = select(SubmissionVersion).order_by(SubmissionVersion.id)
    if xml_form_id:
        query = query.join(Form, Form.id == SubmissionVersion.form_id).where(Form.xml_form_id == xml_form_id)
    ids = list(session.scalars(query.with_only_columns(SubmissionVersion.id)))
    rows = 0
    with click.progressbar(ids, label="Replaying submissions", file=sys.stderr) as bar:
        for version_id in bar:
            rows += replay(session, session.get(SubmissionVersion, version_id))
            session.commit()
    click.echo(f"Replayed {len(ids)} submission version(s) into {rows} row(s).")


# --- quick start ----------------------------------------------------------------------------

@main.command("setup")
@click.option("--device-name", default="Quick-start tablet", show_default=True)
@with_appcontext
def setup(device_name):
    """Migrate the database, publish the bundled forms and show a ready device (safe to re-run)."""
    from forms import BUNDLED_FORMS_DIR
    from ingest.accounts import assign_forms, create_device
    from ingest.models import Device
    from ingest.publishing import ensure_project

    upgrade_database(current_app.config["DATABASE_URL"])
    publish_paths(sorted(BUNDLED_FORMS_DIR.glob("*.xlsx")), 1)
    session = get_session()
    project = ensure_project(session, 1, current_app.config["PROJECT_NAME"])
    device = session.scalar(select(Device).where(Device.project_id == 1, Device.display_name == device_name,
                                                 Device.revoked_at.is_(None)).order_by(Device.id))
    if device is None:
        device = create_device(session, 1, device_name)
        audit.record(session, "device.create", f"device:{device.id}", via="setup")
    else:
        assign_forms(session, device, None)  # forms published since the last run reach the tablet too
    session.commit()
    click.echo(f"Server URL: {current_app.config['PUBLIC_URL']}")
    show_device(device, project.name)


if __name__ == "__main__":
    main()
