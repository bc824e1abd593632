"""Datasets (entity lists) and their properties: names, lookup, and their creation when a form declares them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import audit
from ingest.db import begin_write, utcnow
from ingest.entity_models import Dataset, DatasetProperty
from ingest.errors import UNEXPECTED_VALUE, IngestError

#: A dataset's or a property's name: an XML name of at most 64 characters (a form writes `instance('cases')`).
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
#: Names a property may not take: the entity list's own columns, and Central's reserved ones.
RESERVED = frozenset({"name", "label"})


class EntityError(IngestError):
    """A change of an entity or a dataset refused; the message says why (no value of the entity in it)."""

    code = UNEXPECTED_VALUE


def clean_name(text, what: str = "dataset") -> str:
    """Return a dataset or property name, checked.

    :raise EntityError: empty, not an XML name, too long, or (for a property) reserved.
    """
    value = str(text or "").strip()
    if not NAME.match(value):
        raise EntityError(f"The {what} name must be an XML name of at most 64 characters.")
    if what == "property" and (value in RESERVED or value.startswith("__")):
        raise EntityError(f"'{value}' is reserved and cannot be a property name.")
    return value


# --- datasets ---------------------------------------------------------------------------------------------


def find_dataset(session: Session, project_id: int, name: str) -> Dataset | None:
    """Return a project's dataset by name (datasets are not records: no scope applies), or None."""
    return session.scalar(select(Dataset).where(Dataset.project_id == project_id, Dataset.name == name))


def ensure_dataset(
    session: Session,
    project_id: int,
    name: str,
    properties: Iterable[str] = (),
    *,
    published: bool = True,
    kind: str = "form",
) -> Dataset:
    """Make a project's dataset exist with at least `properties`, in the caller's transaction; return it.

    A form's draft declares its dataset and properties unpublished (`published=False`: not yet offered to
    Collect); publishing it marks them published, as Central does. Audited as `dataset.create` and
    `dataset.update` (property names only).

    :raise EntityError: a bad dataset or property name.
    """
    name = clean_name(name)
    names = [clean_name(p, "property") for p in properties]
    begin_write(session)
    dataset = find_dataset(session, project_id, name)
    now = utcnow()
    if dataset is None:
        dataset = Dataset(project_id=project_id, name=name, kind=kind, approval_required=False)
        session.add(dataset)
        session.flush()
        audit.record(session, "dataset.create", f"dataset:{project_id}:{name}", published=published)
    have = {p.name: p for p in dataset.properties}
    added, marked = [], []
    for prop in dict.fromkeys(names):
        if prop not in have:
            have[prop] = DatasetProperty(name=prop, published_at=now if published else None)
            dataset.properties.append(have[prop])
            added.append(prop)
        elif published and have[prop].published_at is None:
            have[prop].published_at = now
            marked.append(prop)
    if added or marked:
        session.flush()
        audit.record(session, "dataset.update", f"dataset:{project_id}:{name}", added=added, published=marked or None)
    return dataset


def published_properties(dataset: Dataset) -> list[str]:
    """Return the names of a dataset's published properties, in the order they were added."""
    return [p.name for p in dataset.properties if p.published_at is not None]
