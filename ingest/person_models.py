"""Tables of person matching (issue 10): identity features of cases, candidate pairs and reviewed links.

Kept apart from ingest.models so that the matching work has a module of its own; ingest.models imports it,
so every model is known wherever the schema is.

Pairs name their cases by case code, ordered (`case_a` < `case_b`), not by the register's row id: a case
whose last record is deleted and later sent again gets a new row, and a decision about it must survive that.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ingest.db import Base, JSONType, utcnow


class CaseIdentity(Base):
    """Who a case is about, as its records' identity tags say: the matcher's input (sensitive).

    Rebuilt with its case (ingest.persons.identities.rebuild_identity from ingest.cases.register.rebuild_case).
    """

    __tablename__ = "case_identities"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    case_code: Mapped[str] = mapped_column(String(64))
    #: where the case was recorded (the register's province and district).
    province_code: Mapped[str | None] = mapped_column(String(2))
    district_code: Mapped[str | None] = mapped_column(String(4))
    given_lo: Mapped[str | None] = mapped_column(String(200))
    family_lo: Mapped[str | None] = mapped_column(String(200))
    given_latin: Mapped[str | None] = mapped_column(String(200))
    family_latin: Mapped[str | None] = mapped_column(String(200))
    #: F or M (from the answer tagged gender), else None.
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    birth_date: Mapped[date | None] = mapped_column(Date)
    home_province: Mapped[str | None] = mapped_column(String(2))
    home_district: Mapped[str | None] = mapped_column(String(4))
    home_village: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: the case's first event (screening, else intake).
    first_seen: Mapped[date | None] = mapped_column(Date)
    #: False when no record of the case gives any name: the matcher skips (and counts) it.
    has_name: Mapped[bool] = mapped_column(Boolean, default=False)
    #: when the identity last changed; an incremental match looks at cases changed since its last run.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    #: when the row was last rebuilt from the records (changed or not): older than its case's `updated_at`
    #: means the case was rebuilt without it (replay's batch path), and the matcher refreshes it first.
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonCandidate(Base):
    """A pair of cases the matcher scores as likely the same person, waiting for an officer's decision."""

    __tablename__ = "person_candidates"
    __table_args__ = (UniqueConstraint("project_id", "case_a", "case_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    case_a: Mapped[str] = mapped_column(String(64))
    case_b: Mapped[str] = mapped_column(String(64), index=True)
    #: splink match probability, 0 to 1.
    score: Mapped[float] = mapped_column(Float, index=True)
    #: per comparison (given, family, birth, sex, village, phone, screened): the level that applied and
    #: its Bayes factor. Level labels name columns, never values.
    evidence: Mapped[dict] = mapped_column(JSONType, default=dict)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonLink(Base):
    """An officer's decision on a pair: confirmed (same person) or rejected (never proposed again).

    A later decision on the same pair supersedes the earlier one, which is kept (`superseded_at` set) as
    history; at most one decision per pair is current (a partial unique index, so two officers deciding at
    once cannot both win).
    """

    __tablename__ = "person_links"
    __table_args__ = (
        Index(
            "ix_person_links_current",
            "project_id",
            "case_a",
            "case_b",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    case_a: Mapped[str] = mapped_column(String(64))
    case_b: Mapped[str] = mapped_column(String(64), index=True)
    #: "confirmed" or "rejected".
    state: Mapped[str] = mapped_column(String(10))
    #: who decided (None: the server's own command line without --as).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the score the pair had when decided (None for a pair the matcher never proposed).
    score: Mapped[float | None] = mapped_column(Float)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PersonMember(Base):
    """A case that belongs to a person of more than one case: a connected component of confirmed links.

    Recomputed whenever a link changes. A case without a row is a person of its own.
    """

    __tablename__ = "person_members"
    __table_args__ = (UniqueConstraint("project_id", "case_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    case_code: Mapped[str] = mapped_column(String(64))
    #: the smallest case code of the component: stable while the component keeps that case.
    person_key: Mapped[str] = mapped_column(String(64), index=True)


class PersonMatchRun(Base):
    """One run of the matcher over a project: when, how (full or incremental) and what it found."""

    __tablename__ = "person_match_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    full: Mapped[bool] = mapped_column(Boolean, default=True)
    #: cases read, cases skipped for want of a name, cases changed since the previous run, pairs stored.
    cases: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
