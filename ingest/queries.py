"""The read layer: every path that lists records (API, CLI, exports) builds its query here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ingest.models import Form, FormVersion, Submission, SubmissionRow, SubmissionVersion

#: Review states a filter may name; `received` is stored as no state, as Central reports it.
REVIEW_STATES = ("received", "hasIssues", "edited", "approved", "rejected")
#: Records read per page when a listing is streamed.
PAGE = 500


def submissions_of(form: Form, *, drafts: bool = False) -> Select:
    """Select a form's live submissions in arrival order: real data, or with `drafts` the draft's test data."""
    return (
        select(Submission)
        .where(Submission.form_id == form.id, Submission.deleted_at.is_(None), Submission.draft.is_(drafts))
        .order_by(Submission.id)
    )


@dataclass(frozen=True)
class Filters:
    """Which records a listing or export holds, beside the caller's scope: any of the provinces, review states
    and devices named, submitted from `start` (inclusive) until `end` (exclusive), and every answer condition
    (ingest.records.answers.record_condition) true."""

    provinces: tuple[str, ...] = ()
    review_states: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    devices: tuple[int, ...] = ()
    answers: tuple = ()
    #: records that named a province outside their sender's (ingest.tags.place_record): those codes, or
    #: `any` for every such record.
    claimed: tuple[str, ...] = ()
    #: True: only records kept outside the case their code names (ingest.case_provinces); False: none of them.
    foreign_case: bool | None = None

    def apply(self, query: Select) -> Select:
        """Return `query` (on submissions) narrowed to the filters."""
        if self.provinces:
            query = query.where(Submission.province_code.in_(self.provinces))
        if self.review_states:
            named = [s for s in self.review_states if s != "received"]
            condition: ColumnElement[bool] = Submission.review_state.in_(named)
            if "received" in self.review_states:
                condition = condition | Submission.review_state.is_(None)
            query = query.where(condition)
        if self.start is not None:
            query = query.where(Submission.created_at >= self.start)
        if self.end is not None:
            query = query.where(Submission.created_at < self.end)
        if self.devices:
            query = query.where(Submission.device_id.in_(self.devices))
        for condition in self.answers:
            query = query.where(condition)
        if "any" in self.claimed:
            query = query.where(Submission.claimed_province.is_not(None))
        elif self.claimed:
            query = query.where(Submission.claimed_province.in_(self.claimed))
        if self.foreign_case is not None:
            query = query.where(Submission.foreign_case.is_(self.foreign_case))
        return query


def count_of(session: Session, query: Select) -> int:
    """Count the submissions a query on them selects (for the session's caller)."""
    return session.execute(query.with_only_columns(func.count(Submission.id)).order_by(None)).scalar_one()


def in_pages(session: Session, query: Select, batch: int = PAGE) -> Iterator[Submission]:
    """Yield the submissions a query (ordered by id) selects, read in keyset pages of `batch`, each page's
    objects let go before the next is read, so memory does not grow with the number of records."""
    after = 0
    while True:
        page = list(session.scalars(query.where(Submission.id > after).limit(batch)))
        if not page:
            return
        yield from page
        after = page[-1].id
        session.expunge_all()


def live_roots(project_id: int, codes: list[str]) -> Select:
    """Select the live, non-draft records of some cases, one row each in arrival order: case code, submission
    id, form ID, arrival time, province, form version id and the current version's root answers."""
    return (
        select(
            Submission.case_code,
            Submission.id,
            Form.xml_form_id,
            Submission.created_at,
            Submission.province_code,
            SubmissionVersion.form_version_id,
            SubmissionRow.data,
        )
        .join(Submission, Submission.form_id == Form.id)
        .join(
            SubmissionVersion, (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current.is_(True)
        )
        .join(
            SubmissionRow,
            (SubmissionRow.submission_version_id == SubmissionVersion.id) & SubmissionRow.parent_id.is_(None),
        )
        .where(
            Form.project_id == project_id,
            Submission.case_code.in_(codes),
            Submission.deleted_at.is_(None),
            Submission.draft.is_(False),
        )
        .order_by(Submission.id)
    )


def fields_for(session: Session, cache: dict[int | None, list], form_version_id: int | None) -> list:
    """Return a form version's field tree, read once per `cache` (by form version id)."""
    if form_version_id not in cache:
        cache[form_version_id] = (
            session.scalar(select(FormVersion.fields).where(FormVersion.id == form_version_id)) or []
        )
    return cache[form_version_id]
