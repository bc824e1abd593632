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

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.entities.datasets import published_properties
from ingest.entity_models import Dataset, Entity

#: The columns every entity list starts with, as ODK Central writes them.
SYSTEM_COLUMNS = ("name", "label", "__version")


def entity_list_csv(session: Session, dataset: Dataset) -> bytes:
    """Return the dataset's live entities the session's caller may see, as the CSV Collect reads.

    :raise ScopeMissing: no caller.
    """
    scope.require_caller(session)
    properties = published_properties(dataset)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*SYSTEM_COLUMNS, *properties])
    rows = session.execute(
        select(Entity.uuid, Entity.label, Entity.version, Entity.data)
        .where(Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None))
        .order_by(Entity.id)
        .execution_options(yield_per=2000)
    )
    for entity_uuid, label, version, data in rows:
        writer.writerow([entity_uuid, label, version, *(data.get(p, "") for p in properties)])
    return out.getvalue().encode("utf-8")


def note_entity_media(session: Session, dataset: Dataset, name: str, count: int) -> None:
    """Audit (`entity.media`) that the caller downloaded an entity list as a form's media: how many rows."""
    scope.require_caller(session)
    audit.record(session, "entity.media", f"dataset:{dataset.project_id}:{dataset.name}", file=name, count=count)
