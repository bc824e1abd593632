"""Shared test helpers (moved from tests/collector/test_retention.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from forms import BUNDLED_FORMS_DIR, find_media
from forms.compiler import compile_xlsform
from ingest.db import utcnow
from tests.support.openrosa import JPEG, post

#: Distinctive values of sensitive questions of case_intake, each of which must be gone after retention.
IDENTITY = {
    "prs_FirstName": "ບົວສີ",
    "first_name_latin": "Bouasy-Retained",
    "prs_MobilePhone": "+856 20 5551 2345",
    "prs_IdentityNumber": "LA-ID-0987654",
    "perpetrator_name": "Khamla Perp-Retained",
    "document_photo": "passport.jpg",
}


DEFAULTS = {
    "integer": "7",
    "date": "2026-11-29",
    "select one": "01",
    "select all that apply": "Laos",
    "text": "not identifying",
    "calculate": "01-abc",
    "start": "2026-11-29T10:15:00.000+07:00",
    "end": "2026-11-29T10:42:00.000+07:00",
    "today": "2026-11-29",
    "deviceid": "collect:abc",
    "username": "officer01",
    "note": "",
    "photo": "photo.jpg",
}


def intake_instance(
    fields: list[dict],
    instance_id: str,
    *,
    status: str = "Closed",
    values: dict | None = None,
    deprecated_id: str | None = None,
    version: str = "2026112901",
) -> bytes:
    """Write a case_intake instance as Collect does, with `values` (by question name) over IDENTITY."""
    answers = {**IDENTITY, "cas_Status": status, "prs_Gender": "Female", "interview_province": "01", **(values or {})}
    children: dict[str, list[dict]] = {}
    for f in fields:
        children.setdefault(f["path"].rsplit("/", 1)[0], []).append(f)

    def write(path: str) -> str:
        out = []
        for f in children.get(path, []):
            if f["name"] == "meta":
                continue
            if f["kind"] in ("group", "repeat"):
                out.append(f"<{f['name']}>{write(f['path'])}</{f['name']}>")
                continue
            value = answers.get(f["name"], DEFAULTS.get(f["type"], ""))
            out.append(f"<{f['name']}>{value}</{f['name']}>" if value else f"<{f['name']} />")
        return "".join(out)

    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0" ?><data id="case_intake" version="{version}" '
        'xmlns:orx="http://openrosa.org/xforms" xmlns:jr="http://openrosa.org/javarosa">'
        f"{write('/data')}<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></data>"
    ).encode()


@pytest.fixture(scope="module")
def intake_fields():
    return compile_xlsform(BUNDLED_FORMS_DIR / "case_intake.xlsx", validate=False)


@pytest.fixture
def intake(app, db_session, device, intake_fields):
    """Publish case_intake, let the device fill it; return a function that sends a case and ages it."""
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish

    path = BUNDLED_FORMS_DIR / "case_intake.xlsx"
    publish(db_session, app.extensions["collector.store"], 1, intake_fields, find_media(path, intake_fields.media))
    assign_forms(db_session, device, None)
    db_session.commit()
    client = app.test_client()

    def send(instance_id: str, *, status: str = "Closed", days_ago: int = 0, **kwargs) -> None:
        xml = intake_instance(intake_fields.fields, instance_id, status=status, **kwargs)
        response = post(client, device, xml, {"passport.jpg": JPEG + b"passport"})
        assert response.status_code == 201, response.data
        age(app, instance_id, days_ago)

    return send


def age(app, instance_id: str, days: int) -> None:
    """Make a submission version look received `days` days ago."""
    with app.extensions["collector.engine"].begin() as conn:
        conn.execute(
            text("UPDATE submission_versions SET created_at = :at WHERE instance_id = :id"),
            {"at": utcnow() - timedelta(days=days), "id": instance_id},
        )
