"""Which devices a trainer manages, and when each was last seen: shared by the API's app users and the console.

A national trainer or administrator manages every device; a provincial trainer only the devices of their
provinces, and creates devices for those provinces only. A device outside the caller's provinces is not
found, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import scope
from ingest.access import SYSTEM, Caller
from ingest.db import aware
from ingest.errors import OUTSIDE_SCOPE, BadSubmission, Forbidden, NotFound
from ingest.models import AuditEvent, Device, SubmissionVersion


def device_in_scope(caller: Caller, device: Device) -> bool:
    """Say whether `caller` manages `device`: a provincial trainer only those of their provinces."""
    return caller.provinces is None or device.province_code in caller.provinces


def devices_of(session: Session, caller: Caller, project_id: int, kind: str | None = None) -> list[Device]:
    """Return the devices of a project that `caller` manages, oldest first; with `kind`, only tablets
    ("device") or only desk links ("desk")."""
    query = select(Device).where(Device.project_id == project_id).order_by(Device.id)
    if kind is not None:
        query = query.where(Device.kind == kind)
    rows = session.scalars(query)
    return [d for d in rows if device_in_scope(caller, d)]


def device_of(session: Session, caller: Caller, project_id: int, device_id: int) -> Device:
    """Return a device of the project that `caller` manages.

    :raise NotFound: no such device in the project, or one of a province outside the caller's.
    """
    device = session.get(Device, device_id)
    if device is None or device.project_id != project_id or not device_in_scope(caller, device):
        raise NotFound("No such app user.")
    return device


def province_for_new_device(caller: Caller, wanted: str | None) -> str | None:
    """Return the province of a new device: a provincial trainer's own (their only one by default).

    :raise Forbidden: a province outside the caller's (403.51).  :raise BadSubmission: several provinces and
        none chosen.
    """
    provinces = caller.provinces
    if provinces is None:
        return wanted
    if wanted is None:
        if len(provinces) > 1:
            raise BadSubmission("Choose the device's province: you work in several.")
        return next(iter(provinces))
    if wanted not in provinces:
        raise Forbidden(f"You may not create devices for province {wanted}.", OUTSIDE_SCOPE)
    return wanted


@dataclass(frozen=True)
class Activity:
    """When a device last sent a record, and when it was last seen at all (a record, or an audited request
    such as fetching its hand-off list)."""

    last_submission: datetime | None = None
    last_seen: datetime | None = None


def device_activity(session: Session, device_ids: list[int]) -> dict[int, Activity]:
    """Return the activity of each device (missing: never seen).

    Only the moments are read, never a record: the server reads them for the trainer who manages the
    devices, whose own scope sees no records (so the records' scope would hide every submission).
    """
    if not device_ids:
        return {}
    with scope.acting_as(session, SYSTEM):
        sent = dict(
            session.execute(
                select(SubmissionVersion.device_id, func.max(SubmissionVersion.created_at))
                .where(SubmissionVersion.device_id.in_(device_ids))
                .group_by(SubmissionVersion.device_id)
            ).all()
        )
    requests = dict(
        session.execute(
            select(AuditEvent.device_id, func.max(AuditEvent.at))
            .where(AuditEvent.device_id.in_(device_ids))
            .group_by(AuditEvent.device_id)
        ).all()
    )
    activity: dict[int, Activity] = {}
    for device_id in set(sent) | set(requests):
        if device_id is None:
            continue
        moments = [aware(m) for m in (sent.get(device_id), requests.get(device_id)) if m is not None]
        last = aware(sent[device_id]) if sent.get(device_id) is not None else None
        activity[device_id] = Activity(last_submission=last, last_seen=max(moments) if moments else None)
    return activity
