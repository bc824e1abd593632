"""`collector handbook` and `collector course-kit`: the guidelines on paper, and a training course's tablets."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import fail, main
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, settings_payload
from forms.handbook.render import LANGUAGE_CHOICES, Tablet, course_kit_pdf, handbook_pdf, province_name
from ingest.errors import IngestError
from ingest.publishing.handbooks import form_source, handbook_versions

logger = logging.getLogger(__name__)

_LANG = click.Choice(list(LANGUAGE_CHOICES))


@main.command("handbook")
@click.option("--form", "form_ids", multiple=True, help="Form to print (repeatable; default: every form).")
@click.option("--lang", default="both", show_default=True, type=_LANG, help="Languages to print.")
@click.option("--paper", is_flag=True, help="Print fill-in paper forms instead of the handbook.")
@click.option("--draft", is_flag=True, help="Print the forms' drafts instead of their published versions.")
@click.option("--province", default=None, help="Paper forms: list this province's districts first (e.g. 05).")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF to write.")
@with_appcontext
def handbook(form_ids, lang, paper, draft, province, project_id, output):
    """Print the forms as a bilingual handbook (or paper forms) to a PDF."""
    if province is not None and province_name(province) is None:
        fail(f"--province is a two-digit province code from forms/media/provinces.csv, such as 05 (not {province!r}).")
    session = get_session()
    try:
        versions = handbook_versions(session, project_id, list(form_ids) or None, draft=draft)
    except IngestError as exc:
        fail(exc.message)
    output.write_bytes(handbook_pdf([form_source(v, get_store()) for v in versions], lang=lang, paper=paper,
                                    province=province))
    for version in versions:
        state = "draft" if draft else "published"
        click.echo(f"{version.form.xml_form_id}\tversion {version.version}\tmd5 {version.xml_md5}\t{state}")
    click.echo(f"Wrote {output}")


@main.command("course-kit")
@click.option("--province", required=True, help="Two-digit province code of the course's tablets.")
@click.option("--devices", "count", required=True, type=click.IntRange(1, 200), help="How many tablets to set up.")
@click.option("--form", "form_ids", multiple=True, help="Form of the course (repeatable; default: every form).")
@click.option("--lang", default="both", show_default=True, type=_LANG, help="Languages of the handbook.")
@click.option("--name", "prefix", default=None, help="Device name prefix (default: 'Course <date> tablet <province>').")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF to write.")
@with_appcontext
def course_kit(province, count, form_ids, lang, prefix, project_id, output):
    """Create the course's devices and print a kit: cover, handbook, and one QR code page per tablet."""
    from ingest.accounts.admin import add_device
    from ingest.publishing.versions import ensure_project

    if province_name(province) is None:
        fail(f"--province is a two-digit province code from forms/media/provinces.csv, such as 05 (not {province!r}).")
    session = get_session()
    try:
        versions = handbook_versions(session, project_id, list(form_ids) or None)
        sources = [form_source(v, get_store()) for v in versions]
    except IngestError as exc:
        fail(exc.message)
    project = ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    prefix = prefix or f"Course {date.today().isoformat()} tablet {province}"
    assigned = [v.form.xml_form_id for v in versions]
    tablets, devices = [], []
    try:
        for n in range(1, count + 1):
            device = add_device(session, project_id, f"{prefix}-{n:02d}", province, assigned, via="course-kit")
            devices.append(device)
    except IngestError as exc:
        fail(exc.message)
    for device in devices:
        settings = collect_settings(device_url(current_app.config["PUBLIC_URL"], device), project.name)
        tablets.append(Tablet(name=device.display_name, payload=settings_payload(settings)))
    # Lay the PDF out before committing, so a failure leaves no devices without their QR page.
    pdf = course_kit_pdf(sources, tablets, province=province, lang=lang)
    session.commit()
    output.write_bytes(pdf)
    click.echo(f"Created {count} devices for province {province} ({devices[0].id}-{devices[-1].id}), "
               f"assigned to: {', '.join(assigned)}")
    click.echo(f"Wrote {output}")
