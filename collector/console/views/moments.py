"""How the console's tablet, user and audit pages write a moment: in UTC, to the minute or the second."""

from __future__ import annotations

from datetime import UTC, datetime


def when(moment: datetime | None, seconds: bool = False) -> str:
    """Return a stored moment as "YYYY-MM-DD HH:MM UTC" (SQLite hands moments back without their zone: UTC)."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
