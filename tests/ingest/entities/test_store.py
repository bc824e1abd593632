"""The one write module of entities: versions, conflicts as Central flags them, scope and audit (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingest import scope
from ingest.access import SYSTEM, Caller
from ingest.entities import store
from ingest.entities.datasets import EntityError, ensure_dataset, published_properties
from ingest.entity_models import Entity, EntityVersion
from ingest.models import AuditEvent

UUID = "2c1e6f1e-4a8b-4d6e-9c31-0b7f2f8a1d01"
OFFICER_05 = Caller(role="provincial-officer", user_id=None, provinces=frozenset({"05"}), rights=frozenset({"records"}))


@pytest.fixture
def cases(db_session, published_form_project):
    dataset = ensure_dataset(db_session, 1, "cases", ["age", "status", "district"])
    db_session.commit()
    return dataset


def _events(db_session, action):
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_dataset_is_made_once_and_draft_properties_wait_for_publishing(db_session, cases):
    again = ensure_dataset(db_session, 1, "cases", ["status", "referral"], published=False)
    db_session.commit()
    assert again.id == cases.id
    assert published_properties(again) == ["age", "status", "district"]
    ensure_dataset(db_session, 1, "cases", ["referral"])
    db_session.commit()
    assert published_properties(again) == ["age", "status", "district", "referral"]
    assert len(_events(db_session, "dataset.create")) == 1
    assert [e.details["added"] for e in _events(db_session, "dataset.update")] == [
        ["age", "status", "district"],
        ["referral"],
        [],
    ]


@pytest.mark.parametrize("bad", ["", "1cases", "a b", "x" * 65, "cases/../x"])
def test_a_bad_dataset_name_is_refused(db_session, published_form_project, bad):
    with pytest.raises(EntityError):
        ensure_dataset(db_session, 1, bad)


@pytest.mark.parametrize("bad", ["name", "label", "__version", "a b"])
def test_a_reserved_or_bad_property_name_is_refused(db_session, published_form_project, bad):
    with pytest.raises(EntityError):
        ensure_dataset(db_session, 1, "cases", [bad])


def test_create_then_update_makes_versions_and_audits_without_values(db_session, cases):
    entity = store.create_entity(
        db_session,
        cases,
        label="Case LA-05-0001",
        data={"age": "17"},
        entity_uuid="uuid:" + UUID.upper(),
        province_code="05",
    )
    db_session.commit()
    assert (entity.uuid, entity.version, entity.province_code) == (UUID, 1, "05")
    store.update_entity(db_session, cases, UUID, data={"status": "referred"}, base_version=1)
    db_session.commit()
    entity = db_session.scalar(select(Entity))
    assert entity.version == 2 and entity.conflict is None
    assert entity.data == {"age": "17", "status": "referred"} and entity.label == "Case LA-05-0001"
    versions = db_session.scalars(select(EntityVersion).order_by(EntityVersion.version)).all()
    assert [(v.version, v.base_version, v.data_received) for v in versions] == [
        (1, None, {"age": "17", "label": "Case LA-05-0001"}),
        (2, 1, {"status": "referred"}),
    ]
    created, updated = _events(db_session, "entity.create"), _events(db_session, "entity.update.version")
    assert created[0].resource == f"entity:{UUID}" and updated[0].details["version"] == 2
    text = repr([e.details for e in created + updated])
    assert "17" not in text and "referred" not in text and "LA-05" not in text


def test_an_api_update_from_a_stale_version_is_refused_unless_forced(db_session, cases):
    store.create_entity(db_session, cases, label="A", entity_uuid=UUID)
    store.update_entity(db_session, cases, UUID, data={"age": "20"}, base_version=1)
    db_session.commit()
    with pytest.raises(store.VersionMismatch) as refused:
        store.update_entity(db_session, cases, UUID, data={"age": "21"}, base_version=1)
    assert refused.value.code.code == "409.15"
    db_session.rollback()
    with pytest.raises(EntityError, match="baseVersion"):
        store.update_entity(db_session, cases, UUID, data={"age": "21"})
    db_session.rollback()
    entity = store.update_entity(db_session, cases, UUID, label="B", force=True)
    db_session.commit()
    assert (entity.version, entity.label, entity.conflict) == (3, "B", None)


def test_an_offline_update_from_an_older_version_is_a_soft_or_hard_conflict(db_session, cases):
    store.create_entity(db_session, cases, label="A", data={"age": "17", "status": "new"}, entity_uuid=UUID)
    store.update_entity(db_session, cases, UUID, data={"status": "referred"}, base_version=1, offline=True)
    # Made from version 1 on another tablet, touching only the age: soft.
    entity = store.update_entity(db_session, cases, UUID, data={"age": "18"}, base_version=1, offline=True)
    db_session.commit()
    assert (entity.version, entity.conflict, entity.data) == (3, "soft", {"age": "18", "status": "referred"})
    # Made from version 1 again, setting the status that version 2 changed: hard.
    entity = store.update_entity(db_session, cases, UUID, data={"status": "closed"}, base_version=1, offline=True)
    db_session.commit()
    last = db_session.scalars(select(EntityVersion).order_by(EntityVersion.version.desc())).first()
    assert (entity.conflict, last.conflict, last.conflicting_properties) == ("hard", "hard", ["status"])
    # Made from the current version: no conflict of its own, and the entity's flag does not go down.
    entity = store.update_entity(db_session, cases, UUID, data={"age": "19"}, base_version=4, offline=True)
    assert entity.conflict == "hard"
    assert [e.details["conflict"] for e in _events(db_session, "entity.update.version")] == [
        None,
        "soft",
        "hard",
        None,
    ]
    store.resolve_conflict(db_session, cases, UUID, base_version=entity.version)
    db_session.commit()
    assert db_session.scalar(select(Entity.conflict)) is None
    assert _events(db_session, "entity.update.resolve")[0].details["was"] == "hard"


def test_a_label_change_since_the_base_is_a_hard_conflict(db_session, cases):
    store.create_entity(db_session, cases, label="A", entity_uuid=UUID)
    store.update_entity(db_session, cases, UUID, label="A, moved", base_version=1, offline=True)
    entity = store.update_entity(db_session, cases, UUID, label="A, returned", base_version=1, offline=True)
    assert entity.conflict == "hard"


def test_updates_of_one_offline_branch_are_not_conflicts_of_each_other(db_session, cases):
    store.create_entity(db_session, cases, label="A", data={"status": "new"}, entity_uuid=UUID)
    db_session.commit()
    branch = "f2b9d8c4-0000-4000-8000-00000000000b"
    # Two updates made one after the other on one tablet, offline from version 1 (its versions 2 and 3).
    store.update_entity(
        db_session, cases, UUID, data={"status": "a"}, base_version=1, trunk_version=1, branch_id=branch, offline=True
    )
    entity = store.update_entity(
        db_session, cases, UUID, data={"status": "b"}, base_version=2, trunk_version=1, branch_id=branch, offline=True
    )
    assert (entity.version, entity.conflict) == (3, None)
    # Another tablet changed it meanwhile: the branch's next update is judged from the branch's last version.
    store.update_entity(db_session, cases, UUID, data={"age": "30"}, base_version=3, offline=True)
    entity = store.update_entity(
        db_session, cases, UUID, data={"status": "c"}, base_version=3, trunk_version=1, branch_id=branch, offline=True
    )
    assert (entity.version, entity.conflict) == (5, "soft")
    last = db_session.scalars(select(EntityVersion).order_by(EntityVersion.version.desc())).first()
    assert (last.base_version, last.branch_base_version, last.trunk_version) == (3, 3, 1)


def test_an_out_of_order_branch_update_is_judged_from_its_trunk(db_session, cases):
    store.create_entity(db_session, cases, label="A", data={"status": "new"}, entity_uuid=UUID)
    branch = "f2b9d8c4-0000-4000-8000-00000000000c"
    entity = store.update_entity(
        db_session, cases, UUID, data={"status": "x"}, base_version=4, trunk_version=1, branch_id=branch, offline=True
    )
    assert (entity.version, entity.conflict) == (2, None)


def test_create_refuses_bad_input_and_a_taken_uuid(db_session, cases):
    with pytest.raises(EntityError, match="UUID"):
        store.create_entity(db_session, cases, label="A", entity_uuid="not-a-uuid")
    with pytest.raises(EntityError, match="label"):
        store.create_entity(db_session, cases, label="  ")
    with pytest.raises(EntityError, match="not a property"):
        store.create_entity(db_session, cases, label="A", data={"secret": "x"})
    with pytest.raises(EntityError, match="string"):
        store.create_entity(db_session, cases, label="A", data={"age": 17})
    db_session.rollback()
    made = store.create_entity(db_session, cases, label="A")
    db_session.commit()
    assert len(made.uuid) == 36
    with pytest.raises(store.EntityExists):
        store.create_entity(db_session, cases, label="B", entity_uuid=made.uuid)


def test_writes_look_the_entity_up_in_the_actors_scope(db_session, cases):
    store.create_entity(db_session, cases, label="A", entity_uuid=UUID, province_code="06")
    db_session.commit()
    with pytest.raises(store.UnknownEntity):
        store.update_entity(db_session, cases, UUID, data={"age": "1"}, base_version=1, actor=OFFICER_05)
    with pytest.raises(store.UnknownEntity):
        store.delete_entity(db_session, cases, UUID, actor=OFFICER_05)
    db_session.rollback()
    scope.use(db_session, OFFICER_05)
    with pytest.raises(store.UnknownEntity):
        store.update_entity(db_session, cases, UUID, data={"age": "1"}, base_version=1)
    db_session.rollback()
    # Taken is taken, even in a province the caller does not see.
    with pytest.raises(store.EntityExists):
        store.create_entity(db_session, cases, label="B", entity_uuid=UUID, province_code="05")
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        assert db_session.scalar(select(Entity.version)) == 1


def test_a_deleted_entity_leaves_reads_and_refuses_updates(db_session, cases):
    store.create_entity(db_session, cases, label="A", entity_uuid=UUID)
    store.delete_entity(db_session, cases, UUID)
    db_session.commit()
    assert store.find_entity(db_session, cases, UUID) is None
    with pytest.raises(store.UnknownEntity):
        store.update_entity(db_session, cases, UUID, label="B", force=True)
    assert _events(db_session, "entity.delete")[0].details["version"] == 1
