"""The hand-off tasks as the server's entity list `handoff_cases` (issue 19): a provincial officer's form offers
the open cases its province owes a follow-up, offline, and no other province's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingest import scope
from ingest.access import SYSTEM
from ingest.accounts.users import assign_forms
from ingest.entities.system import HANDOFF_LIST, handoff_uuid
from ingest.entity_models import Dataset, Entity
from ingest.publishing.versions import publish
from tests.conftest import DATA
from tests.support.entities import compiled
from tests.support.openrosa import base
from tests.support.tasks import CODE, FOLLOWUP, HOME, NAME, ORIGIN, OTHER, SCREENING, publish_handoff, send

HEADERS = {"X-OpenRosa-Version": "1.0"}


@pytest.fixture
def handoff(app, db_session):
    return publish_handoff(app, db_session)


def _visit_form(app, db_session, handoff):
    publish(db_session, app.extensions["collector.store"], 1, compiled(DATA / "handoff_visit.xlsx"), {})
    for device in handoff.devices.values():
        assign_forms(db_session, device, None)
    db_session.commit()


def _list(client, device) -> list[str]:
    response = client.get(f"{base(device)}/forms/handoff_visit/attachments/{HANDOFF_LIST}.csv", headers=HEADERS)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.data.decode("utf-8").splitlines()
    assert lines[0] == "name,label,__version,case_code,home_district,origin_province,opened"
    return lines[1:]


def test_an_open_task_is_offered_to_its_home_province_only_until_a_followup_closes_it(app, client, db_session, handoff):
    send(client, handoff, ORIGIN, "screening", "s1", {**SCREENING, "full_name": NAME})
    _visit_form(app, db_session, handoff)
    [row] = _list(client, handoff.devices[HOME])
    assert row.startswith(f'{handoff_uuid(1, CODE)},"{CODE}: ') and f",{CODE},1305,{ORIGIN}," in row
    assert NAME not in row
    assert _list(client, handoff.devices[ORIGIN]) == [] and _list(client, handoff.devices[OTHER]) == []
    db_session.rollback()
    assert db_session.scalar(select(Dataset.kind).where(Dataset.name == HANDOFF_LIST)) == "system"

    # The home province's follow-up closes the task: the case leaves the list.
    send(client, handoff, HOME, "followup", "f1", FOLLOWUP)
    assert _list(client, handoff.devices[HOME]) == []
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        entity = db_session.scalar(select(Entity))
    assert entity.deleted_at is not None and entity.province_code == HOME


def test_syncing_twice_writes_nothing_new(app, client, db_session, handoff):
    from ingest.cases.tasks import sync_all

    send(client, handoff, ORIGIN, "screening", "s1", SCREENING)
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        before = db_session.scalar(select(Entity.version))
        sync_all(db_session, 1)
        db_session.rollback()
        assert db_session.scalar(select(Entity.version)) == before == 1
