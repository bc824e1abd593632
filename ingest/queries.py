"""The read layer: every path that lists records (API, CLI, exports) builds its query here."""
from __future__ import annotations

from sqlalchemy import Select, select

from ingest.models import Form, Submission


def submissions_of(form: Form, *, drafts: bool = False) -> Select:
    """Select a form's live submissions in arrival order: real data, or with `drafts` the draft's test data."""
    return (select(Submission)
            .where(Submission.form_id == form.id, Submission.deleted_at.is_(None), Submission.draft.is_(drafts))
            .order_by(Submission.id))
