"""The server's own entity lists: the open hand-off tasks (ingest.cases.tasks) as the list `handoff_cases`.

A provincial officer's follow-up form offers that province's open cases offline by reading this list, as any
form reads an entity list (`select_one_from_file handoff_cases.csv`, or `instance('handoff_cases')`). Each open
task is one entity, in the task's home province (so a tablet of that province downloads it, and no other
province's tablet does) and with the case's consent to share: `name` is a UUID fixed by the project and the
case code, `label` the case code and what is known of the case (never a name), and the properties `case_code`,
`home_district`, `origin_province` and `opened`. A task that closes (or goes) deletes its entity, which leaves
every list; a task that opens again brings it back. Changes go through ingest.entities.store, so each is an
entity version and an audit event like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import scope
from ingest.access import SYSTEM
from ingest.entities import store
from ingest.entities.datasets import ensure_dataset, find_dataset
from ingest.entity_models import Entity

#: The list's name, as forms name it.
HANDOFF_LIST = "handoff_cases"
HANDOFF_PROPERTIES = ("case_code", "home_district", "origin_province", "opened")
#: Fixed namespace of the list's entity UUIDs (uuid5 of "<project>/<case code>"): the same case, the same UUID.
_NAMESPACE = uuid.UUID("6f1c2a52-6c0e-4d3b-9a5e-2f0b9a7c1e19")


def handoff_uuid(project_id: int, case_code: str) -> str:
    """Return the UUID of a case's entity in the hand-off list."""
    return str(uuid.uuid5(_NAMESPACE, f"{project_id}/{case_code}"))


def _row(code: str, task: Mapping) -> tuple[str, dict[str, str]]:
    label = f"{code}: {task['summary']}"[: store.MAX_LABEL]
    opened = task["opened_at"]
    data = {
        "case_code": code,
        "home_district": task.get("home_district") or "",
        "origin_province": task.get("origin_province") or "",
        "opened": opened.date().isoformat() if opened else "",
    }
    return label, data


def sync_handoff_entities(session: Session, project_id: int, tasks: Mapping[str, Mapping | None]) -> None:
    """Make the hand-off list's entities of some cases match their tasks, in the caller's transaction.

    `tasks`: case code -> the task's columns (ingest.cases.tasks), or None for a case that owes none.
    Idempotent: what already matches is not written again.
    """
    if not tasks:
        return
    with scope.acting_as(session, SYSTEM):
        dataset = find_dataset(session, project_id, HANDOFF_LIST)
        if dataset is None:
            if not any(t is not None and t["status"] == "open" for t in tasks.values()):
                return
            dataset = ensure_dataset(session, project_id, HANDOFF_LIST, HANDOFF_PROPERTIES, kind="system")
        ids = {code: handoff_uuid(project_id, code) for code in tasks}
        existing = {
            e.uuid: e
            for e in session.scalars(
                select(Entity).where(Entity.dataset_id == dataset.id, Entity.uuid.in_(sorted(ids.values())))
            )
        }
        for code, task in sorted(tasks.items()):
            entity = existing.get(ids[code])
            if task is None or task["status"] != "open":
                if entity is not None and entity.deleted_at is None:
                    store.delete_entity(session, dataset, ids[code], actor=SYSTEM)
                continue
            label, data = _row(code, task)
            province, consent = task["home_province"], task.get("consent_sharing")
            if entity is None:
                store.create_entity(
                    session,
                    dataset,
                    label=label,
                    data=data,
                    entity_uuid=ids[code],
                    province_code=province,
                    consent_sharing=consent,
                    actor=SYSTEM,
                )
            elif (entity.deleted_at, entity.label, entity.data, entity.province_code, entity.consent_sharing) != (
                None,
                label,
                data,
                province,
                consent,
            ):
                store.update_entity(
                    session,
                    dataset,
                    ids[code],
                    label=label,
                    data=data,
                    force=True,
                    province_code=province,
                    consent_sharing=consent,
                    revive=entity.deleted_at is not None,
                    actor=SYSTEM,
                )
