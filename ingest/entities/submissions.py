"""Entities from submissions: a submission's `<meta><entity>` creates or updates an entity, once, with the record.

The instance is read before the write transaction (`read_entity`: no lock held while parsing); the change is
made inside the transaction that stores the submission (`apply_submitted`, called by ingest.receiving), so a
record and its entity change commit together, and a retried submission (answered from what is stored) changes
nothing again. A change that cannot be made (an update of an entity the server does not have or the sender may
not see, a bad UUID, no baseVersion) is rolled back alone, to a savepoint, and audited as `entity.error`: the
record itself is always kept.

The entity takes the record's province and consent (as the record was placed by ingest.tags.place_record), so
it is seen by exactly those who see the record. Edits of a record (deprecatedID) change no entity, and test
data of drafts creates none, as in ODK Central. A list that requires approval (Central's approvalRequired) takes a
record's entity when the record is approved, not when it arrives (`apply_approved`, called by the review).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from xml.etree.ElementTree import Element

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.entities import EntityDeclaration, declaration
from ingest import audit
from ingest.access import Caller
from ingest.entities import store
from ingest.entities.datasets import EntityError, find_dataset
from ingest.entity_models import EntityVersion
from ingest.models import FormVersion
from ingest.xmlsafe import find_child, local_name

logger = logging.getLogger(__name__)

#: Declarations of the form versions seen lately, by (version id, XForm md5): a form's XML is read and parsed
#: once, not per record.
_DECLARATIONS: dict[tuple[int, str], EntityDeclaration | None] = {}
_TRUE = {"1", "true", "yes"}


@dataclass(frozen=True)
class SubmittedEntity:
    """What a submission's `<meta><entity>` asks for, read from the instance (values are the answers)."""

    dataset: str
    entity_id: str
    create: bool
    update: bool
    base_version: str
    trunk_version: str
    branch_id: str
    label: str | None
    values: dict[str, str]


class Origin(Protocol):
    """What the receiving side knows of the stored record (ingest.receiving.submissions._NewVersion)."""

    project_id: int
    province: str | None
    withheld: bool
    editor: Caller
    user_agent: str | None
    deprecated_id: str | None
    draft: bool


def _declaration(session: Session, version_id: int, md5: str) -> EntityDeclaration | None:
    key = (version_id, md5)
    if key not in _DECLARATIONS:
        xml = session.scalar(select(FormVersion.xml).where(FormVersion.id == version_id))
        if len(_DECLARATIONS) > 256:
            _DECLARATIONS.clear()
        _DECLARATIONS[key] = declaration(xml) if xml else None
    return _DECLARATIONS[key]


def _find(root: Element, parts: tuple[str, ...]) -> Element | None:
    node: Element | None = root
    for part in parts:
        node = find_child(node, part) if node is not None else None
    return node


def read_entity(session: Session, root: Element, version_id: int, md5: str) -> SubmittedEntity | None:
    """Return what an instance asks of an entity, or None (the instance has none, or its form declares none)."""
    meta = find_child(root, "meta")
    node = find_child(meta, "entity") if meta is not None else None
    if node is None:
        return None
    declared = _declaration(session, version_id, md5)
    if declared is None:
        return None
    attrs = {local_name(k): (v or "").strip() for k, v in node.attrib.items()}
    label_node = find_child(node, "label")
    label = (label_node.text or "").strip() if label_node is not None else ""
    values = {}
    for prop, parts in declared.properties.items():
        found = _find(root, parts)
        if found is not None:
            values[prop] = (found.text or "").strip()
    return SubmittedEntity(
        dataset=attrs.get("dataset") or declared.dataset,
        entity_id=attrs.get("id", ""),
        create=attrs.get("create", "").lower() in _TRUE,
        update=attrs.get("update", "").lower() in _TRUE,
        base_version=attrs.get("baseVersion", ""),
        trunk_version=attrs.get("trunkVersion", ""),
        branch_id=attrs.get("branchId", ""),
        label=label or None,
        values=values,
    )


def _version(text: str, what: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise EntityError(f"The entity's {what} is not a version number.")
    return int(text)


@dataclass
class Approved:
    """The origin of a record approved after it arrived: its project, province, consent and sender as stored."""

    project_id: int
    province: str | None
    withheld: bool
    editor: Caller
    user_agent: str | None = None
    deprecated_id: str | None = None
    draft: bool = False


def apply_approved(
    session: Session, root: Element, form_version_id: int, md5: str, submission_id: int, origin: Approved
) -> bool:
    """Write the entity an approved record asks of a list that requires approval (Central writes such entities
    at approval), once: nothing when an entity version already came from the record (approved before) or the
    list takes entities at arrival. Run as the server: the sender's scope judges an update, as at arrival.

    :return: whether an entity was written (or its error audited).
    """
    asked = read_entity(session, root, form_version_id, md5)
    if asked is None or origin.draft or not (asked.create or asked.update):
        return False
    dataset = find_dataset(session, origin.project_id, asked.dataset)
    if dataset is None or not dataset.approval_required:
        return False
    done = select(EntityVersion.id).where(EntityVersion.submission_id == submission_id).limit(1)
    if session.scalar(done) is not None:
        return False
    apply_submitted(session, asked, submission_id, origin, approved=True)
    return True


def apply_submitted(
    session: Session, asked: SubmittedEntity | None, submission_id: int, origin: Origin, *, approved: bool = False
) -> None:
    """Create or update the entity a newly stored record asks for, in its transaction (see the module's note);
    with `approved`, also into a list that requires approval."""
    if asked is None or origin.deprecated_id or origin.draft or not (asked.create or asked.update):
        return
    savepoint = session.begin_nested()
    try:
        _apply(session, asked, submission_id, origin, approved)
        savepoint.commit()
    except (EntityError, IntegrityError) as exc:
        savepoint.rollback()
        code = exc.code.code if isinstance(exc, EntityError) else "409.3"
        message = str(exc) if isinstance(exc, EntityError) else "The entity was written by another record meanwhile."
        logger.warning("entity of submission %s not written: %s", submission_id, code)
        audit.record(
            session,
            "entity.error",
            f"submission:{submission_id}",
            user_id=origin.editor.user_id,
            device_id=origin.editor.device_id,
            dataset=asked.dataset[:64],
            code=code,
            problem=message[:300],
        )


def _apply(session: Session, asked: SubmittedEntity, submission_id: int, origin: Origin, approved: bool) -> None:
    dataset = find_dataset(session, origin.project_id, asked.dataset)
    if dataset is None:
        raise EntityError("The entity list the form writes is not on the server (publish its form again).")
    if dataset.approval_required and not approved:
        return  # written when the record is approved (apply_approved)
    entity_uuid = store.clean_uuid(asked.entity_id)
    base = _version(asked.base_version, "baseVersion")
    trunk = _version(asked.trunk_version, "trunkVersion")
    branch = store.clean_uuid(asked.branch_id) if asked.branch_id else None
    agent, actor = origin.user_agent, origin.editor
    if asked.update and (not asked.create or store.find_entity(session, dataset, entity_uuid, actor=origin.editor)):
        store.update_entity(
            session,
            dataset,
            entity_uuid,
            label=asked.label,
            data=asked.values,
            base_version=base,
            branch_id=branch,
            trunk_version=trunk,
            consent_sharing=False if origin.withheld else None,
            submission_id=submission_id,
            user_agent=agent,
            actor=actor,
        )
        return
    store.create_entity(
        session,
        dataset,
        label=asked.label,
        data=asked.values,
        entity_uuid=entity_uuid,
        province_code=origin.province,
        consent_sharing=not origin.withheld,
        branch_id=branch,
        trunk_version=trunk,
        submission_id=submission_id,
        user_agent=agent,
        actor=actor,
    )
