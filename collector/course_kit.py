"""A training course's tablets in one step: create the devices and lay out their kit (cover, tablet sheet,
handbook, one A4 page per tablet with its ODK Collect QR code).

The console's course page calls `make_course_kit`; it does what `collector course-kit` does, with the same
device names, audit (`device.create`, via="course-kit") and PDF builder (forms.handbook.render).
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy.orm import Session

from collector.devices import collect_settings, device_url, settings_payload
from forms.handbook.render import Identity, Tablet, course_kit_pdf, emblem_uri
from ingest.accounts.admin import add_device
from ingest.models import Device, Project
from ingest.publishing.handbooks import form_source, handbook_versions
from ingest.storage import MediaStore

#: Most tablets one course kit sets up (as `collector course-kit --devices`).
MAX_TABLETS = 200


def kit_identity(course: str) -> Identity:
    """Return the cover's identity from the settings (emblem, guideline edition and date) for `course`.

    :raise EmblemError: the HANDBOOK_EMBLEM file is unusable.
    """
    config = current_app.config
    return Identity(
        edition=str(config.get("HANDBOOK_EDITION") or ""),
        edition_date=str(config.get("HANDBOOK_EDITION_DATE") or ""),
        course=course,
        emblem=emblem_uri(config.get("HANDBOOK_EMBLEM")),
    )


def default_names(province: str, today: str | None = None) -> tuple[str, str]:
    """Return the default device name prefix in English and in Lao, as `collector course-kit` names them."""
    today = today or date.today().isoformat()
    return f"Course {today} tablet {province}", f"ຫຼັກສູດ {today} ແທັບເລັດ {province}"


def make_course_kit(
    session: Session,
    store: MediaStore,
    project: Project,
    *,
    province: str,
    count: int,
    base_url: str,
    identity: Identity,
    form_ids: list[str] | None = None,
    lang: str = "both",
) -> tuple[bytes, list[Device]]:
    """Create `count` devices of `province` assigned to the forms (default: every published one) and return
    the course kit's PDF with them. The caller commits once the PDF is in hand, so that a failure leaves no
    device without its page.

    :raise IngestError: an unknown form or province, or a form with no published version.
    """
    versions = handbook_versions(session, project.id, form_ids or None)
    sources = [form_source(v, store) for v in versions]
    prefix, prefix_lo = default_names(province)
    assigned = [v.form.xml_form_id for v in versions]
    devices = [
        add_device(session, project.id, f"{prefix}-{n:02d}", province, assigned, via="course-kit")
        for n in range(1, count + 1)
    ]
    tablets = [
        Tablet(
            name=device.display_name,
            payload=settings_payload(collect_settings(device_url(base_url, device), project.name)),
            name_lo=f"{prefix_lo}-{n:02d}",
            code=str(device.id),
        )
        for n, device in enumerate(devices, start=1)
    ]
    return course_kit_pdf(sources, tablets, province=province, lang=lang, identity=identity), devices
