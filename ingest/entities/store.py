"""Create, update and delete entities: the one write module of entities (datasets: ingest.entities.datasets).

Every change adds an entity version (ingest.entity_models.EntityVersion) and an audit event in the caller's
transaction, whether it comes from a submission (ingest.entities.submissions), the JSON API or the server's own
lists; no other module writes entities.

Versions and conflicts follow ODK Central:

- Through the API an update names the version it was made from (`base_version`); if the entity has moved on
  since, the update is refused (`VersionMismatch`, 409.15) unless `force` is given, which applies it as is.
- From a submission (made offline, maybe days ago) an update is never refused: made from an older version than
  the current one, it is applied and the entity flagged as in conflict: 'hard' if it sets a property (or the
  label) that some version since its base changed, else 'soft'. A flag never goes down ('hard' stays 'hard')
  until someone resolves it (`resolve_conflict`).
- Offline branches (ODK's entities spec 2024.1): updates made one after another on a tablet without a
  connection carry the same `branch_id` and the `trunk_version` the tablet last had from the server. The versions
  of the same branch are not conflicts of each other; a later update of the branch is judged from the branch's
  last version on the server, so only changes made elsewhere since count.

Who acted is `actor`, else the session's caller (ingest.scope); the entity to update or delete is looked up in
that caller's scope, so a device or officer cannot touch an entity of a province it does not see (not found).
Audit events name the entity, the dataset, versions and the conflict, never a label or a property's value.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.access import SYSTEM, Caller
from ingest.db import begin_write, utcnow
from ingest.entities.datasets import EntityError
from ingest.entity_models import Dataset, Entity, EntityVersion
from ingest.errors import ALREADY_EXISTS, ENTITY_VERSION_MISMATCH, MISSING_PARAMETER, NOT_FOUND

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Longest label kept (Central's label is free text; a list row over this is a mistake, not a case).
MAX_LABEL = 2000
#: Longest property value kept.
MAX_VALUE = 10000
_RANK = {None: 0, "soft": 1, "hard": 2}


class UnknownEntity(EntityError):
    """No such entity in the dataset (or not one the caller may see, answered alike), or it was deleted."""

    code = NOT_FOUND


class EntityExists(EntityError):
    """An entity with that UUID is already in the dataset."""

    code = ALREADY_EXISTS


class VersionMismatch(EntityError):
    """An API update named a base version that is no longer the entity's current one (Central's 409.15)."""

    code = ENTITY_VERSION_MISMATCH


def clean_uuid(text) -> str:
    """Return an entity UUID as stored: lower case, without `uuid:`.

    :raise EntityError: not a UUID.
    """
    value = str(text or "").strip().lower()
    value = value.removeprefix("uuid:")
    if not _UUID.match(value):
        raise EntityError("The entity ID is not a UUID.")
    return value


# --- entities ---------------------------------------------------------------------------------------------


def _check_data(dataset: Dataset, data: Mapping | None) -> dict[str, str]:
    names = {p.name for p in dataset.properties}
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        if key not in names:
            raise EntityError(f"'{str(key)[:64]}' is not a property of the entity list '{dataset.name}'.")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise EntityError(f"The value of property '{key}' must be a string.")
        if len(value) > MAX_VALUE:
            raise EntityError(f"The value of property '{key}' is longer than {MAX_VALUE} characters.")
        out[key] = value
    return out


def _check_label(label) -> str:
    if not isinstance(label, str) or not label.strip():
        raise EntityError("An entity needs a label.")
    if len(label) > MAX_LABEL:
        raise EntityError(f"The entity label is longer than {MAX_LABEL} characters.")
    return label


def find_entity(
    session: Session, dataset: Dataset, entity_uuid: str, *, actor: Caller | None = None, lock: bool = False
) -> Entity | None:
    """Return a live entity of a dataset in the scope of `actor` (else the session's caller); None: none,
    deleted, or out of scope."""
    query = select(Entity).where(
        Entity.dataset_id == dataset.id, Entity.uuid == clean_uuid(entity_uuid), Entity.deleted_at.is_(None)
    )
    with scope.acting_as(session, _who(session, actor)):
        return session.scalar(query.with_for_update() if lock else query)


def _who(session: Session, actor: Caller | None) -> Caller:
    return actor or scope.caller_of(session) or SYSTEM


def _ids(caller: Caller) -> dict:
    return {"user_id": caller.user_id, "device_id": caller.device_id}


def create_entity(
    session: Session,
    dataset: Dataset,
    *,
    label,
    data: Mapping | None = None,
    entity_uuid: str | None = None,
    province_code: str | None = None,
    consent_sharing: bool | None = None,
    submission_id: int | None = None,
    user_agent: str | None = None,
    branch_id: str | None = None,
    trunk_version: int | None = None,
    actor: Caller | None = None,
) -> Entity:
    """Create an entity (version 1) in the caller's transaction; return it. Audited as `entity.create`.

    `entity_uuid` None makes a new one (the API's create without an ID). `province_code` and `consent_sharing`
    place it in the scope (those of its submission, or given by the API caller).

    :raise EntityError: a bad UUID, label or property. :raise EntityExists: the UUID is taken in the dataset.
    """
    value = clean_uuid(entity_uuid) if entity_uuid is not None else str(uuidlib.uuid4())
    label = _check_label(label)
    values = _check_data(dataset, data)
    begin_write(session)
    with scope.acting_as(session, SYSTEM):  # taken is taken, whoever's province it is in
        taken = session.scalar(select(Entity.id).where(Entity.dataset_id == dataset.id, Entity.uuid == value))
    if taken is not None:
        raise EntityExists("An entity with this ID already exists in the entity list.")
    who = _who(session, actor)
    user_id, device_id = who.user_id, who.device_id
    now = utcnow()
    entity = Entity(
        dataset_id=dataset.id,
        uuid=value,
        label=label,
        data=values,
        version=1,
        conflict=None,
        province_code=province_code,
        consent_sharing=consent_sharing,
        creator_user_id=user_id,
        creator_device_id=device_id,
        created_at=now,
    )
    entity.versions.append(
        EntityVersion(
            version=1,
            base_version=None,
            label=label,
            data=dict(values),
            data_received={**values, "label": label},
            branch_id=branch_id,
            trunk_version=trunk_version,
            submission_id=submission_id,
            creator_user_id=user_id,
            creator_device_id=device_id,
            user_agent=(user_agent or None) and user_agent[:255],
            created_at=now,
        )
    )
    session.add(entity)
    session.flush()
    audit.record(
        session,
        "entity.create",
        f"entity:{value}",
        **_ids(who),
        dataset=dataset.name,
        project=dataset.project_id,
        version=1,
        submission=submission_id,
        properties=len(values),
    )
    return entity


def _versions(session: Session, entity: Entity) -> list[EntityVersion]:
    return list(
        session.scalars(
            select(EntityVersion).where(EntityVersion.entity_id == entity.id).order_by(EntityVersion.version)
        )
    )


def _judge(versions: list[EntityVersion], base: int, received: Mapping, branch_id: str | None):
    """Return (conflict, conflicting properties) of an update made from version `base`."""
    since = [v for v in versions if v.version > base and not (branch_id and v.branch_id == branch_id)]
    if not since:
        return None, None
    by_number = {v.version: v for v in versions}
    changed: set[str] = set()
    for version in since:
        before = by_number.get(version.version - 1)
        old_data, old_label = (before.data, before.label) if before else ({}, None)
        changed.update(k for k in set(version.data) | set(old_data) if version.data.get(k) != old_data.get(k))
        if version.label != old_label:
            changed.add("label")
    conflicting = sorted(k for k in received if k in changed)
    return ("hard" if conflicting else "soft"), (conflicting or None)


def _effective_base(
    versions: list[EntityVersion], current: int, base: int, branch_id: str | None, trunk: int | None
) -> int:
    """The server's version an offline update was made from (see the module's note on branches)."""
    if branch_id:
        mine = [v.version for v in versions if v.branch_id == branch_id]
        if mine:
            return max(mine)
    if base > current:
        # The branch's earlier updates have not arrived (or never will): judge from the trunk it left.
        return trunk if trunk is not None and trunk <= current else current
    return base


def update_entity(
    session: Session,
    dataset: Dataset,
    entity_uuid: str,
    *,
    label=None,
    data: Mapping | None = None,
    base_version: int | None = None,
    force: bool = False,
    submission_id: int | None = None,
    user_agent: str | None = None,
    branch_id: str | None = None,
    trunk_version: int | None = None,
    consent_sharing: bool | None = None,
    actor: Caller | None = None,
    offline: bool | None = None,
) -> Entity:
    """Add a version to an entity: set the given properties (a blank string blanks one) and the label if given.

    From the API (`submission_id` None): `base_version` must be the current version, unless `force`. From a
    submission (or with `offline`: an update made offline that comes another way): `base_version` is required
    and the update always applies, flagged as a conflict when made from an older version (see the module's
    docstring). Audited as `entity.update.version`.

    :raise UnknownEntity: no such live entity in the caller's scope. :raise VersionMismatch: API, stale base.
    :raise EntityError: a bad UUID, label or property, or no base version where one is needed.
    """
    values = _check_data(dataset, data)
    if label is not None and label != "":
        label = _check_label(label)
    else:
        label = None
    from_submission = submission_id is not None if offline is None else offline
    if base_version is None and not force:
        raise EntityError("An entity update needs the version it was made from (baseVersion).", MISSING_PARAMETER)
    begin_write(session)
    who = _who(session, actor)
    entity = find_entity(session, dataset, entity_uuid, actor=who, lock=True)
    if entity is None:
        raise UnknownEntity("No such entity in this entity list.")
    current = entity.version
    versions = _versions(session, entity)
    conflict, conflicting, base = None, None, current
    if from_submission and not force:
        assert base_version is not None  # checked above
        base = _effective_base(versions, current, base_version, branch_id, trunk_version)
        received = {**values, **({"label": label} if label is not None else {})}
        conflict, conflicting = _judge(versions, base, received, branch_id)
    elif not force and base_version != current:
        raise VersionMismatch(
            f"The entity is at version {current}, not {base_version}: read it again before changing it."
        )
    user_id, device_id = who.user_id, who.device_id
    now = utcnow()
    new_data = {**entity.data, **values}
    new_label = label if label is not None else entity.label
    entity.version = current + 1
    entity.data = new_data
    entity.label = new_label
    entity.updated_at = now
    if _RANK[conflict] > _RANK[entity.conflict]:
        entity.conflict = conflict
    if consent_sharing is not None:
        entity.consent_sharing = consent_sharing
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=current + 1,
            base_version=base,
            label=new_label,
            data=new_data,
            data_received={**values, **({"label": label} if label is not None else {})},
            conflicting_properties=conflicting,
            conflict=conflict,
            branch_id=branch_id,
            trunk_version=trunk_version,
            branch_base_version=base_version if branch_id else None,
            submission_id=submission_id,
            creator_user_id=user_id,
            creator_device_id=device_id,
            user_agent=(user_agent or None) and user_agent[:255],
            created_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        "entity.update.version",
        f"entity:{entity.uuid}",
        **_ids(who),
        dataset=dataset.name,
        project=dataset.project_id,
        version=entity.version,
        base_version=base,
        force=force or None,
        conflict=conflict,
        submission=submission_id,
        properties=len(values),
    )
    return entity


def resolve_conflict(
    session: Session,
    dataset: Dataset,
    entity_uuid: str,
    *,
    base_version: int | None = None,
    actor: Caller | None = None,
) -> Entity:
    """Mark an entity's conflict as resolved (Central's `?resolve=true`), with no new version. Audited as
    `entity.update.resolve`.

    :raise UnknownEntity: as `update_entity`. :raise VersionMismatch: `base_version` is not the current one.
    """
    begin_write(session)
    who = _who(session, actor)
    entity = find_entity(session, dataset, entity_uuid, actor=who, lock=True)
    if entity is None:
        raise UnknownEntity("No such entity in this entity list.")
    if base_version is not None and base_version != entity.version:
        raise VersionMismatch(f"The entity is at version {entity.version}, not {base_version}.")
    was = entity.conflict
    entity.conflict = None
    session.flush()
    audit.record(
        session,
        "entity.update.resolve",
        f"entity:{entity.uuid}",
        **_ids(who),
        dataset=dataset.name,
        project=dataset.project_id,
        version=entity.version,
        was=was,
    )
    return entity


def delete_entity(session: Session, dataset: Dataset, entity_uuid: str, *, actor: Caller | None = None) -> Entity:
    """Delete an entity (kept, marked deleted: it leaves every list and read, its versions stay). Audited as
    `entity.delete`.

    :raise UnknownEntity: as `update_entity`.
    """
    begin_write(session)
    who = _who(session, actor)
    entity = find_entity(session, dataset, entity_uuid, actor=who, lock=True)
    if entity is None:
        raise UnknownEntity("No such entity in this entity list.")
    entity.deleted_at = utcnow()
    session.flush()
    audit.record(
        session,
        "entity.delete",
        f"entity:{entity.uuid}",
        **_ids(who),
        dataset=dataset.name,
        project=dataset.project_id,
        version=entity.version,
    )
    return entity
