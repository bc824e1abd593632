"""An entity list as a form's media file (`cases.csv`), made for the caller: only the entities it may see.

Collect downloads the list with the form (the manifest names it, its md5 changing with the list) and reads it
offline: `name` (the entity's UUID, what a choice stores), `label`, `__version` (what a follow-up form sends
back as its baseVersion), then the dataset's published properties. The rows are those of the caller's scope
(ingest.scope.entities_visible): a tablet of province 05 gets province 05's entities only, a national tablet
all; a caller with no right to records gets the header alone (fail closed, and Collect still loads the form).
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.entities.datasets import published_properties
from ingest.entity_models import Dataset, Entity

#: The columns every entity list starts with, as ODK Central writes them.
SYSTEM_COLUMNS = ("name", "label", "__version")
#: Lists made lately, by (dataset, properties, the caller's reach): (their stamp, their bytes). Collect asks for
#: a list three times a sync (formList hashes it, the manifest hashes it, then the download): the list is made
#: once and made again only when its stamp changes. Per process; a few lists of a few MiB at most.
_MADE: OrderedDict[tuple, tuple[tuple, bytes]] = OrderedDict()
_MADE_MAX = 16


def _stamp(session: Session, dataset: Dataset) -> tuple:
    """What changes whenever the caller's list does: how many live entities it holds, the sum of their
    versions (an update), the highest id (a creation) and the latest update (a deleted entity brought back)."""
    return tuple(
        session.execute(
            select(
                func.count(Entity.id),
                func.coalesce(func.sum(Entity.version), 0),
                func.max(Entity.id),
                func.max(Entity.updated_at),
            ).where(Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None))
        ).one()
    )


def entity_list_csv(session: Session, dataset: Dataset) -> bytes:
    """Return the dataset's live entities the session's caller may see, as the CSV Collect reads.

    :raise ScopeMissing: no caller.
    """
    caller = scope.require_caller(session)
    properties = published_properties(dataset)
    # Callers of the same reach see the same list (ingest.scope.entities_visible reads only these).
    key = (dataset.id, tuple(properties), caller.role, caller.provinces, caller.rights, caller.device_id is not None)
    stamp = _stamp(session, dataset)
    made = _MADE.get(key)
    if made is not None and made[0] == stamp:
        _MADE.move_to_end(key)
        return made[1]
    body = _make(session, dataset, properties)
    _MADE[key] = (stamp, body)
    while len(_MADE) > _MADE_MAX:
        _MADE.popitem(last=False)
    return body


def _make(session: Session, dataset: Dataset, properties: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*SYSTEM_COLUMNS, *properties])
    # Each property read by the database from the JSON column (json_extract, ->>): no JSON decoded here, the
    # most of the time a large list took. A property an entity lacks comes back NULL, written as "".
    rows = session.execute(
        select(Entity.uuid, Entity.label, Entity.version, *(Entity.data[p].as_string() for p in properties))
        .where(Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None))
        .order_by(Entity.id)
        .execution_options(yield_per=5000)
    )
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def header_csv(dataset: Dataset) -> bytes:
    """Return the list with no entities (its header row): what a draft's test URL serves, so the draft loads in
    Collect without any case leaving the server on a test token."""
    return (",".join([*SYSTEM_COLUMNS, *published_properties(dataset)]) + "\n").encode("utf-8")


def note_entity_media(session: Session, dataset: Dataset, name: str, count: int) -> None:
    """Audit (`entity.media`) that the caller downloaded an entity list as a form's media: how many rows."""
    scope.require_caller(session)
    audit.record(session, "entity.media", f"dataset:{dataset.project_id}:{dataset.name}", file=name, count=count)
