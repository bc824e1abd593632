"""Review of records, as ODK Central has it: a review state on each record, and staff comments on it.

A comment is free text about a case and may name the people in it, so it is shown like the sensitive
free-text answers: in full to callers who see identities, as null (`"redacted": true`) to the others.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.access import RIGHTS, ROLES
from ingest.db import begin_write, utcnow
from ingest.models import Submission, SubmissionComment
from ingest.records.describe import iso
from ingest.redaction import Redaction

#: Central's review states. "received" (nobody reviewed the record yet) is stored as NULL and reported as
#: null, as Central and pyodk do.
REVIEW_STATES = ("received", "hasIssues", "edited", "approved", "rejected")
#: Most characters a comment may hold.
MAX_COMMENT_CHARS = 10_000
#: Roles who may set a review state and write comments: those who read records and either see them whole
#: or may send and edit them. An analyst, who reads records without identities, judges none of them.
REVIEWERS = tuple(role for role in ROLES if "records" in RIGHTS[role] and RIGHTS[role] & {"identities", "submit"})


def set_review_state(session: Session, submission: Submission, state: str | None) -> tuple[str, str]:
    """Set a record's review state ("received" or None clears it); return its (old, new) state names.

    The caller loads `submission` in its scope, after `begin_write`, so the change is made on the row read.
    """
    begin_write(session)
    old = submission.review_state or "received"
    submission.review_state = None if state in (None, "received") else state
    # Central's updatedAt moves with the review state as well as with an edit.
    submission.updated_at = utcnow()
    session.flush()
    return old, submission.review_state or "received"


def add_comment(session: Session, submission: Submission, user_id: int | None, body: str) -> SubmissionComment:
    """Add a staff comment (1 to MAX_COMMENT_CHARS characters, checked by the caller) to a record."""
    begin_write(session)
    comment = SubmissionComment(submission_id=submission.id, user_id=user_id, body=body, created_at=utcnow())
    session.add(comment)
    session.flush()
    return comment


def comments_of(session: Session, submission: Submission) -> list[SubmissionComment]:
    """Return a record's comments, newest first (in the session caller's scope, like the record)."""
    return list(
        session.scalars(
            select(SubmissionComment)
            .where(SubmissionComment.submission_id == submission.id)
            .order_by(SubmissionComment.id.desc())
        )
    )


#: The body of a comment shown to a role that does not see identities: a string, as pyodk's model requires.
REDACTED_COMMENT = "[redacted]"


def comment_json(submission: Submission, comment: SubmissionComment, redaction: Redaction) -> dict:
    """Describe a comment as Central does, its body replaced by REDACTED_COMMENT as `redaction` says."""
    hidden = redaction.applies(submission.draft)
    return {
        "body": REDACTED_COMMENT if hidden else comment.body,
        "actorId": comment.user_id,
        "createdAt": iso(comment.created_at),
        "redacted": hidden,
    }
