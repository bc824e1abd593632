"""`collector handbook` and `collector course-kit`: the guidelines on paper, and a training course's tablets."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import fail, main
from collector.cli.devices import warn_public_url
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, settings_payload
from forms.handbook.render import (
    LANGUAGE_CHOICES,
    PAPER_SIZES,
    EmblemError,
    Identity,
    Tablet,
    course_kit_pdf,
    emblem_uri,
    handbook_pdf,
    province_name,
)
from ingest.accounts.admin import add_device
from ingest.errors import IngestError
from ingest.publishing.handbooks import form_source, handbook_versions
from ingest.publishing.versions import ensure_project

logger = logging.getLogger(__name__)

_LANG = click.Choice(list(LANGUAGE_CHOICES))
_SIZE = click.Choice(list(PAPER_SIZES))


def identity_options(command):
    """The cover's options every printing command shares: emblem, guideline version and date, paper size."""
    for option in reversed(
        [
            click.option(
                "--paper-size", default="a4", show_default=True, type=_SIZE, help="A4, or A5 for a field booklet."
            ),
            click.option(
                "--emblem",
                default=None,
                type=click.Path(dir_okay=False, path_type=Path),
                help="Emblem image (PNG or JPEG) for the cover (default: the HANDBOOK_EMBLEM setting).",
            ),
            click.option("--edition", default=None, help="Guideline version on the cover (default: HANDBOOK_EDITION)."),
            click.option("--edition-date", default=None, help="Date of that version (default: HANDBOOK_EDITION_DATE)."),
        ]
    ):
        command = option(command)
    return command


def cover_identity(emblem, edition, edition_date, course: str = "") -> Identity:
    """Build the cover's identity from the options, else the settings; exits on an unusable emblem file."""
    config = current_app.config
    try:
        uri = emblem_uri(emblem or config.get("HANDBOOK_EMBLEM"))
    except EmblemError as exc:
        fail(str(exc))
    return Identity(
        edition=edition if edition is not None else str(config.get("HANDBOOK_EDITION") or ""),
        edition_date=edition_date if edition_date is not None else str(config.get("HANDBOOK_EDITION_DATE") or ""),
        course=course,
        emblem=uri,
    )


@main.command("handbook")
@click.option("--form", "form_ids", multiple=True, help="Form to print (repeatable; default: every form).")
@click.option("--lang", default="both", show_default=True, type=_LANG, help="Languages to print.")
@click.option("--paper", is_flag=True, help="Print fill-in paper forms instead of the handbook.")
@click.option("--draft", is_flag=True, help="Print the forms' drafts instead of their published versions.")
@click.option("--province", default=None, help="Paper forms: list this province's districts first (e.g. 05).")
@click.option(
    "--cover/--no-cover",
    default=None,
    help="Cover, contents and back page (default: yes, but not for the paper form of one form).",
)
@identity_options
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF to write.")
@with_appcontext
def handbook(
    form_ids, lang, paper, draft, province, cover, paper_size, emblem, edition, edition_date, project_id, output
):
    """Print the forms as a bilingual handbook (or paper forms) to a PDF."""
    if province is not None and province_name(province) is None:
        fail(f"--province is a two-digit province code from forms/media/provinces.csv, such as 05 (not {province!r}).")
    identity = cover_identity(emblem, edition, edition_date)
    session = get_session()
    try:
        versions = handbook_versions(session, project_id, list(form_ids) or None, draft=draft)
    except IngestError as exc:
        fail(exc.message)
    output.write_bytes(
        handbook_pdf(
            [form_source(v, get_store()) for v in versions],
            lang=lang,
            paper=paper,
            province=province,
            paper_size=paper_size,
            cover=cover,
            identity=identity,
        )
    )
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
@click.option(
    "--name-lo",
    "prefix_lo",
    default=None,
    help="The prefix in Lao, printed beside it (default: the Lao of the default prefix, else --name).",
)
@click.option("--course", default=None, help="Course named on the cover (default: 'Course <date>, province <code>').")
@identity_options
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF to write.")
@with_appcontext
def course_kit(
    province,
    count,
    form_ids,
    lang,
    prefix,
    prefix_lo,
    course,
    paper_size,
    emblem,
    edition,
    edition_date,
    project_id,
    output,
):
    """Create the course's devices and print a kit: cover, tablet sheet, handbook, one QR code page per tablet."""

    if province_name(province) is None:
        fail(f"--province is a two-digit province code from forms/media/provinces.csv, such as 05 (not {province!r}).")
    today = date.today().isoformat()
    identity = cover_identity(emblem, edition, edition_date, course or f"Course {today}, province {province}")
    session = get_session()
    try:
        versions = handbook_versions(session, project_id, list(form_ids) or None)
        sources = [form_source(v, get_store()) for v in versions]
    except IngestError as exc:
        fail(exc.message)
    project = ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    if prefix is None:
        prefix, prefix_lo = f"Course {today} tablet {province}", prefix_lo or f"ຫຼັກສູດ {today} ແທັບເລັດ {province}"
    prefix_lo = prefix_lo or prefix
    assigned = [v.form.xml_form_id for v in versions]
    tablets, devices = [], []
    try:
        for n in range(1, count + 1):
            device = add_device(session, project_id, f"{prefix}-{n:02d}", province, assigned, via="course-kit")
            devices.append(device)
    except IngestError as exc:
        fail(exc.message)
    for n, device in enumerate(devices, start=1):
        settings = collect_settings(device_url(current_app.config["PUBLIC_URL"], device), project.name)
        tablets.append(
            Tablet(
                name=device.display_name,
                payload=settings_payload(settings),
                name_lo=f"{prefix_lo}-{n:02d}",
                code=str(device.id),
            )
        )
    # Lay the PDF out before committing, so a failure leaves no devices without their QR page.
    pdf = course_kit_pdf(sources, tablets, province=province, lang=lang, paper_size=paper_size, identity=identity)
    session.commit()
    output.write_bytes(pdf)
    click.echo(
        f"Created {count} devices for province {province} ({devices[0].id}-{devices[-1].id}), "
        f"assigned to: {', '.join(assigned)}"
    )
    click.echo(f"Wrote {output}")
    warn_public_url()
