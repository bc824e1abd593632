"""Find the form and version a received instance is for, with the sending device's assignment, in one query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from ingest.generations import GenerationCache
from ingest.models import Device, DeviceForm, Form, FormVersion


@dataclass(frozen=True)
class TargetVersion:
    """What the write path needs of a form version (its large columns stay in the database)."""

    id: int
    version: str
    fields: list
    #: the XForm's md5 (keys the caches of what is read from it).
    md5: str = ""


#: Field trees by (form version id, XForm md5): a version never changes once stored, and the md5 guards
#: against an id reused after a draft was deleted (SQLite may reuse the highest rowid).
_FIELDS: dict[tuple[int, str], list] = {}
_FIELDS_MAX = 512


def _fields(session: Session, version_id: int, md5: str) -> list:
    key = (version_id, md5)
    fields = _FIELDS.get(key)
    if fields is None:
        fields = session.execute(select(FormVersion.fields).where(FormVersion.id == version_id)).scalar_one()
        if len(_FIELDS) >= _FIELDS_MAX:
            _FIELDS.clear()
        _FIELDS[key] = fields
    return fields


@dataclass(frozen=True)
class Target:
    id: int
    state: str
    #: whether the submitting device may send this form (always true for users and drafts).
    assigned: bool
    #: the published versions (or only the draft), oldest first.
    versions: list[TargetVersion]


#: Targets by (project, form ID, device id), at the generation they were read (ingest.generations): a form
#: closed, a version published or an assignment changed anywhere is seen by every worker's next request.
_TARGETS: GenerationCache[tuple[int, str, int | None], Target | None] = GenerationCache()


def find_target(
    session: Session, project_id: int, xml_form_id: str, device: Device | None, draft: FormVersion | None
) -> Target | None:
    """Look up the form an instance names, the device's assignment to it and its versions, in one query
    (none while nothing watched changed since this process last looked: ingest.generations).

    Versions come without their XForm and XLSForm; their field trees come from the per-process cache.
    """
    if draft is not None:
        if draft.form.xml_form_id != xml_form_id:
            return None
        return Target(
            draft.form_id,
            "open",
            True,
            [TargetVersion(draft.id, draft.version, _fields(session, draft.id, draft.xml_md5), draft.xml_md5)],
        )
    key = (project_id, xml_form_id, device.id if device is not None else None)
    return _TARGETS.get(session, key, lambda: _load_target(session, project_id, xml_form_id, device))


def _load_target(session: Session, project_id: int, xml_form_id: str, device: Device | None) -> Target | None:
    assigned = (
        select(DeviceForm.form_id).where(DeviceForm.device_id == device.id, DeviceForm.form_id == Form.id).exists()
        if device is not None
        else true()
    )
    rows = session.execute(
        select(Form.id, Form.state, assigned, FormVersion.id, FormVersion.version, FormVersion.xml_md5)
        .outerjoin(FormVersion, (FormVersion.form_id == Form.id) & FormVersion.published_at.is_not(None))
        .where(Form.project_id == project_id, Form.xml_form_id == xml_form_id)
        .order_by(FormVersion.published_at, FormVersion.id)
    ).all()
    if not rows:
        return None
    versions = [TargetVersion(r[3], r[4], _fields(session, r[3], r[5]), r[5]) for r in rows if r[3] is not None]
    return Target(rows[0][0], rows[0][1], rows[0][2], versions)


def nearest_version(versions: list[TargetVersion], wanted: str) -> TargetVersion:
    """Pick the version to normalise an unknown version against: the highest not above it, else the newest."""
    below = [v for v in versions if v.version <= wanted]
    return max(below, key=lambda v: v.version) if below else versions[-1]
