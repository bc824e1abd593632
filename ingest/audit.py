"""Record every read of identifiable data and every administrative change."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ingest.db import begin_write
from ingest.models import AuditEvent


def record(session: Session, action: str, resource: str, *, user_id: int | None = None,
           device_id: int | None = None, address: str | None = None, **details) -> None:
    """Add an audit event to the session; it commits with the caller's transaction.

    `details` name what was touched (ids, counts, roles), never the data itself.
    """
    begin_write(session)
    session.add(AuditEvent(action=action, resource=resource[:500], user_id=user_id, device_id=device_id,
                           address=(address or None) and address[:64], details=details))
