"""Shared test helpers (moved from tests/collector/test_cases.py)."""

from __future__ import annotations

import pytest

from forms import BUNDLED_FORMS_DIR, find_media
from forms.compiler import compile_xlsform

FORMS = ("screening", "case_intake", "followup")


@pytest.fixture(scope="module")
def compiled():
    return {f: compile_xlsform(BUNDLED_FORMS_DIR / f"{f}.xlsx", validate=False) for f in FORMS}


@pytest.fixture
def forms(app, db_session, device, compiled):
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish

    for form_id, form in compiled.items():
        publish(
            db_session,
            app.extensions["collector.store"],
            1,
            form,
            find_media(BUNDLED_FORMS_DIR / f"{form_id}.xlsx", form.media),
        )
    db_session.commit()
    assign_forms(db_session, device, None)
    db_session.commit()
    return {form_id: form.fields for form_id, form in compiled.items()}


def instance(
    form_id: str, fields: list[dict], instance_id: str, answers: dict[str, str], deprecated: str | None = None
) -> bytes:
    """Write an instance with every question empty but those whose tag `answers` names (no repeats)."""
    children: dict[str, list[dict]] = {}
    for f in fields:
        children.setdefault(f["path"].rsplit("/", 1)[0], []).append(f)

    def write(path: str) -> str:
        out = []
        for f in children.get(path, []):
            if f["kind"] == "repeat" or f["name"] == "meta":
                continue
            if f["kind"] == "group":
                out.append(f"<{f['name']}>{write(f['path'])}</{f['name']}>")
                continue
            value = next((answers[t] for t in f["tags"] if t in answers), "")
            out.append(f"<{f['name']}>{value}</{f['name']}>" if value else f"<{f['name']} />")
        return "".join(out)

    meta = f"<orx:deprecatedID>{deprecated}</orx:deprecatedID>" if deprecated else ""
    return (
        f'<?xml version="1.0"?><data id="{form_id}" version="2026112901" xmlns:orx="http://openrosa.org/xforms">'
        f"{write('/data')}<meta><instanceID>{instance_id}</instanceID>{meta}</meta></data>"
    ).encode()


SCREENING = {
    "case_code": "C-1",
    "event_date": "2026-01-05",
    "scope_province": "05",
    "scope_district": "0501",
    "gender": "Female",
    "citizenship": "LA",
    "exploitation_type": "ForcedLabour SexualExploitation",
    "country_of_exploitation": "XX",
    "country_of_exploitation_other": "MY",
    "trafficking_status": "Presumed",
    "consent": "yes",
}


INTAKE = {
    "case_code": "C-1",
    "event_date": "2026-01-10",
    "scope_province": "05",
    "gender": "Female",
    "citizenship": "XX",
    "citizenship_other": "VN",
    "age_band": "18-20",
    "trafficking_status": "Confirmed",
    "consent_sharing": "yes",
    "case_status": "Active",
}
