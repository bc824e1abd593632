"""Entities as ODK Collect meets them (issue 19): a registration creates an entity, the follow-up form downloads
its province's list (`cases.csv` from the manifest), a follow-up updates it, offline conflicts are flagged."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from ingest import scope
from ingest.access import SYSTEM
from ingest.entity_models import Dataset, Entity, EntityVersion
from ingest.models import AuditEvent, Submission
from tests.support.entities import (
    NAME,
    entity_list,
    followup,
    form_hash,
    manifest,
    publish_entity_forms,
    registration,
    send,
)

A, B = str(uuid.UUID(int=0xA, version=4)), str(uuid.UUID(int=0xB, version=4))


@pytest.fixture
def forms(app, db_session):
    return publish_entity_forms(app, db_session)


def _entity(db_session, entity_uuid=A) -> Entity:
    db_session.rollback()  # a new snapshot: what the requests committed since
    with scope.acting_as(db_session, SYSTEM):
        return db_session.scalar(select(Entity).where(Entity.uuid == entity_uuid))


def _events(db_session, action: str) -> list[AuditEvent]:
    db_session.rollback()  # a new snapshot: what the requests committed since
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_publishing_makes_the_list_and_its_published_properties(forms, db_session):
    dataset = db_session.scalar(select(Dataset))
    assert dataset.name == "cases"
    assert [(p.name, p.published_at is not None) for p in dataset.properties] == [
        ("case_code", True),
        ("province", True),
        ("gender", True),
        ("age_band", True),
        ("status", True),
    ]


def test_each_province_downloads_only_its_entities_and_a_national_tablet_all(client, forms, db_session):
    send(client, forms.devices["05"], registration("r1", A, "05-0001", "05"))
    send(client, forms.devices["06"], registration("r2", B, "06-0001", "06", gender="Male"))
    entity = _entity(db_session)
    assert (entity.province_code, entity.version, entity.label, entity.consent_sharing) == (
        "05",
        1,
        "05-0001 (Female)",
        True,
    )
    assert entity.data == {"case_code": "05-0001", "province": "05", "gender": "Female", "age_band": "age_18_20"}
    body, rows = entity_list(client, forms.devices["05"])
    assert body.splitlines()[0] == b"name,label,__version,case_code,province,gender,age_band,status"
    assert [(r["name"], r["label"], r["__version"]) for r in rows] == [(A, "05-0001 (Female)", "1")]
    assert [r["name"] for r in entity_list(client, forms.devices["06"])[1]] == [B]
    assert [r["name"] for r in entity_list(client, forms.national)[1]] == [A, B]
    assert NAME.encode() not in body
    # Each download audited with its count only.
    media = _events(db_session, "entity.media")
    assert [(e.device_id, e.details["count"]) for e in media] == [
        (forms.devices["05"].id, 1),
        (forms.devices["06"].id, 1),
        (forms.national.id, 2),
    ]
    created = _events(db_session, "entity.create")
    assert created[0].device_id == forms.devices["05"].id
    assert NAME not in repr([e.details for e in created]) and "05-0001" not in repr([e.details for e in created])


def test_a_followup_updates_the_entity_and_the_list_and_its_hash_change(client, forms, db_session):
    device = forms.devices["05"]
    send(client, device, registration("r1", A, "05-0001", "05"))
    before, md5_before = form_hash(client, device), manifest(client, device)["cases.csv"][0]
    send(client, device, followup("f1", A, "referred", base=1))
    entity = _entity(db_session)
    assert (entity.version, entity.conflict, entity.data["status"], entity.label) == (
        2,
        None,
        "referred",
        "05-0001 (Female)",
    )
    rows = entity_list(client, device)[1]
    assert [(r["__version"], r["status"]) for r in rows] == [("2", "referred")]
    assert form_hash(client, device) != before and manifest(client, device)["cases.csv"][0] != md5_before
    # The follow-up's record links the version.
    version = db_session.scalar(select(EntityVersion).where(EntityVersion.version == 2))
    assert db_session.get(Submission, version.submission_id).instance_id == "uuid:f1"


def test_a_retried_submission_changes_the_entity_once(client, forms, db_session):
    device = forms.devices["05"]
    send(client, device, registration("r1", A, "05-0001", "05"))
    send(client, device, registration("r1", A, "05-0001", "05"))
    send(client, device, followup("f1", A, "referred", base=1))
    send(client, device, followup("f1", A, "referred", base=1))
    assert _entity(db_session).version == 2
    assert db_session.scalar(select(func.count()).select_from(EntityVersion)) == 2
    assert len(_events(db_session, "entity.create")) == len(_events(db_session, "entity.update.version")) == 1


def test_a_conflicting_offline_update_is_flagged_as_central_does(client, forms, db_session):
    send(client, forms.devices["05"], registration("r1", A, "05-0001", "05"))
    send(client, forms.devices["05"], followup("f1", A, "referred", base=1, age_band="age_18_20"))
    # The national tablet had version 1 offline; it set the status version 2 had set, and changed the age
    # band: a soft conflict.
    send(client, forms.national, followup("f2", A, "referred", base=1, age_band="age_21_25"))
    assert _entity(db_session).conflict == "soft"
    # Then, still from its version 1, it sets the status to other than what it became since: hard.
    send(client, forms.national, followup("f3", A, "closed", base=1, age_band="age_21_25"))
    entity = _entity(db_session)
    assert (entity.version, entity.conflict, entity.data["status"]) == (4, "hard", "closed")
    last = db_session.scalar(select(EntityVersion).where(EntityVersion.version == 4))
    assert (last.base_version, last.conflict, last.conflicting_properties) == (1, "hard", ["status"])


def test_an_entity_created_and_updated_in_one_offline_branch_has_no_conflict(client, forms, db_session):
    device, branch = forms.devices["05"], str(uuid.uuid4())
    send(client, device, registration("r1", A, "05-0001", "05"))
    # Made offline right after the registration: the tablet's own version 1 then 2, no trunk version yet.
    send(client, device, followup("f1", A, "referred", base=1, branch=branch))
    send(client, device, followup("f2", A, "closed", base=2, branch=branch))
    entity = _entity(db_session)
    assert (entity.version, entity.conflict, entity.data["status"]) == (3, None, "closed")
    versions = db_session.scalars(select(EntityVersion).order_by(EntityVersion.version)).all()
    assert [v.branch_id for v in versions] == [None, branch, branch]


@pytest.mark.parametrize(
    "xml, code",
    [
        (followup("f9", B, "closed", base=1), "404.1"),  # an entity the server does not have
        (followup("f9", "not-a-uuid", "closed", base=1), "400.8"),
        (followup("f9", A, "closed", base=""), "400.2"),  # no baseVersion
        (followup("f9", A, "closed", base="x1"), "400.8"),
    ],
)
def test_an_entity_that_cannot_be_written_is_audited_and_the_record_is_kept(client, forms, db_session, xml, code):
    send(client, forms.devices["05"], registration("r1", A, "05-0001", "05"))
    send(client, forms.devices["05"], xml)
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 2
    assert _entity(db_session).version == 1
    errors = _events(db_session, "entity.error")
    assert [(e.details["code"], e.device_id) for e in errors] == [(code, forms.devices["05"].id)]


def test_a_tablet_cannot_update_an_entity_of_another_province(client, forms, db_session):
    send(client, forms.devices["06"], registration("r2", B, "06-0001", "06"))
    send(client, forms.devices["05"], followup("f1", B, "closed", base=1))
    assert _entity(db_session, B).version == 1
    assert _events(db_session, "entity.error")[0].details["code"] == "404.1"


def test_a_refused_consent_keeps_the_entity_in_its_province(client, forms, db_session):
    send(client, forms.devices["05"], registration("r1", A, "05-0001", "05", consent="no"))
    assert _entity(db_session).consent_sharing is False
    assert [r["name"] for r in entity_list(client, forms.devices["05"])[1]] == [A]
    assert entity_list(client, forms.national)[1] == []


def test_a_drafts_test_url_serves_the_list_without_any_case(app, client, forms, db_session):
    from ingest.publishing.versions import create_draft
    from tests.support.entities import FOLLOWUP, compiled

    send(client, forms.devices["05"], registration("r1", A, "05-0001", "05"))
    draft = create_draft(
        db_session,
        app.extensions["collector.store"],
        1,
        compiled(FOLLOWUP),
        new_form=False,
        xml_form_id="entity_followup",
    )
    db_session.commit()
    base = f"/v1/test/{draft.draft_token}/projects/1/forms/entity_followup/draft"
    assert (
        b"<filename>cases.csv</filename>" in client.get(f"{base}/manifest", headers={"X-OpenRosa-Version": "1.0"}).data
    )
    response = client.get(f"{base}/attachments/cases.csv", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 200
    assert response.data == b"name,label,__version,case_code,province,gender,age_band,status\n"


def test_a_list_that_requires_approval_takes_the_entity_when_its_record_is_approved(client, forms, admin, db_session):
    """Central's approvalRequired: the record arrives and is kept, its entity waits for the record's approval;
    approved twice (after a rejection), it is written once."""
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(":".join(admin).encode()).decode()}
    assert (
        client.patch("/v1/projects/1/datasets/cases", json={"approvalRequired": True}, headers=auth).status_code == 200
    )
    send(client, forms.devices["05"], registration("r9", A, "05-0009", "05"))
    assert _entity(db_session) is None
    record = "/v1/projects/1/forms/entity_registration/submissions/uuid:r9"
    for state in ("approved", "rejected", "approved"):
        assert client.patch(record, json={"reviewState": state}, headers=auth).status_code == 200, state
    entity = _entity(db_session)
    assert (entity.province_code, entity.version, entity.label) == ("05", 1, "05-0009 (Female)")
    assert [e.resource for e in _events(db_session, "entity.create")] == [f"entity:{A}"]
    with scope.acting_as(db_session, SYSTEM):
        assert db_session.scalar(select(func.count()).select_from(EntityVersion)) == 1
        assert db_session.scalar(select(Submission.review_state)) == "approved"
    # The province's tablet now gets it in its list.
    assert [r["name"] for r in entity_list(client, forms.devices["05"])[1]] == [A]
