"""Shared test helpers (moved from tests/ingest/cases/test_tasks.py)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

from sqlalchemy import select

from forms import BUNDLED_FORMS_DIR, find_media
from forms.compiler import compile_xlsform
from ingest import scope
from ingest.access import SYSTEM
from ingest.task_models import Task
from tests.conftest import DATA
from tests.support.cases import instance
from tests.support.openrosa import post

ORIGIN, HOME, OTHER = "05", "13", "01"


CODE = "05-a1b2c3d4"


SCREENING = {
    "case_code": CODE,
    "event_date": "2026-11-20",
    "scope_province": ORIGIN,
    "gender": "Female",
    "age_band": "age_18_20",
    "exploitation_type": "ForcedLabour SexualExploitation",
    "consent_sharing": "yes",
    "home_province": HOME,
    "home_district": "1305",
}


FOLLOWUP = {"case_code": CODE, "event_date": "2026-11-28", "scope_province": HOME, "case_status": "Active"}


#: A name written into the screening record: it must never reach a task.
NAME = "Noy Phommachanh"


#: The test screening form (it asks the home, as the bundled one does not) and the bundled follow-up form;
#: or the ministry's forms as bundled (case_intake asks the home).
TEST_FORMS = {"screening": DATA / "handoff_screening.xlsx", "followup": BUNDLED_FORMS_DIR / "followup.xlsx"}


@functools.cache
def compiled(path):
    """Compile an XLSForm once per run."""
    return compile_xlsform(path, validate=False)


def publish_handoff(app, db_session, paths: dict = TEST_FORMS) -> SimpleNamespace:
    """Publish the forms into project 1 with a device in the origin, the home and another province."""
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import ensure_project, publish

    ensure_project(db_session, 1)
    versions = {}
    for form_id, path in paths.items():
        form = compiled(path)
        versions[form_id] = publish(
            db_session, app.extensions["collector.store"], 1, form, find_media(path, form.media)
        ).version.version
    db_session.commit()
    devices = {p: create_device(db_session, 1, f"Tablet {p}", p) for p in (ORIGIN, HOME, OTHER)}
    db_session.commit()
    return SimpleNamespace(
        fields={f: compiled(path).fields for f, path in paths.items()}, versions=versions, devices=devices
    )


def send(
    client, handoff, device_province: str, form_id: str, iid: str, answers: dict, deprecated=None, status: int = 201
):
    """Send a record of `form_id` from the device of a province through the OpenRosa submission endpoint."""
    xml = instance(form_id, handoff.fields[form_id], iid, answers, deprecated)
    xml = xml.replace(b'version="2026112901"', f'version="{handoff.versions[form_id]}"'.encode())
    response = post(client, handoff.devices[device_province], xml)
    assert response.status_code == status, response.data
    return response


def one_task(db_session) -> Task:
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        found = list(db_session.scalars(select(Task)))
    assert len(found) == 1
    return found[0]
