"""Tables of case hand-off (issue 10): follow-up tasks owed by a person's home province.

Kept apart from ingest.models so that the hand-off work has a module of its own; ingest.models imports it,
so every model is known wherever the schema is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ingest.db import Base


class Task(Base):
    """A follow-up owed by a person's home province for a case identified in another (ingest.cases.tasks).

    Derived from the case's records like the register itself: rebuilt with the case, so a replay gives the
    same rows. Holds no names: the case code and a summary of non-identifying register fields only.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project_id", "case_code", "kind"),
        Index("ix_tasks_home_province_status", "home_province", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    #: the case of the register; the task goes with it when its last record is deleted.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    case_code: Mapped[str] = mapped_column(String(64))
    #: what is owed; only 'followup' for now.
    kind: Mapped[str] = mapped_column(String(20), default="followup")
    #: open until a follow-up record of the home province arrives after `opened_at`; then closed.
    status: Mapped[str] = mapped_column(String(10))
    #: the province whose officers owe the follow-up (answer tagged home_province, or home_district's first
    #: two digits), and the district when known.
    home_province: Mapped[str] = mapped_column(String(2))
    home_district: Mapped[str | None] = mapped_column(String(4))
    #: the province where the person was identified (the province of the case's screening/intake records).
    origin_province: Mapped[str] = mapped_column(String(2))
    #: the case's consent to share (None: never asked); refused hides the task as the case is hidden.
    consent_sharing: Mapped[bool | None] = mapped_column(Boolean)
    #: what is known, from non-identifying register fields (gender, age band, exploitation types, dates).
    summary: Mapped[str] = mapped_column(String(500), default="")
    #: when the first record saying where the person's home is arrived.
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the follow-up record that closed it.
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
