"""Every read of records, their versions, XML, files and comments, for the API, the CLI and the console.

Each function takes the session's caller (`scope.require_caller`: no caller, no answer), decides the
redaction for that caller, hands it to the presenters (ingest.records.describe, ingest.records.review) and
writes its audit event itself, once. The caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session, selectinload

from ingest import audit, scope
from ingest.access import SYSTEM, device_caller, user_caller
from ingest.entities.submissions import Approved, apply_approved
from ingest.models import Device, Form, FormVersion, Submission, SubmissionAttachment, SubmissionVersion, User
from ingest.queries import Filters, count_of, in_pages, submissions_of
from ingest.records.answers import text_condition
from ingest.records.describe import (
    current_of,
    file_hidden,
    readable_xml,
    rows_of_versions,
    submission_json,
    version_json,
)
from ingest.records.review import add_comment, comment_json, comments_of, set_review_state
from ingest.redaction import redaction_for
from ingest.xmlsafe import UnsafeXMLError, parse


class FileRefused(PermissionError):
    """The file belongs to a sensitive question and the caller does not see identities."""


def _query(form: Form, filters: Filters) -> Select:
    return filters.apply(submissions_of(form))


def find_record(session: Session, form: Form, instance_id: str) -> Submission | None:
    """Return a form's record by instanceID, if the caller may see it (not audited: nothing is shown yet)."""
    scope.require_caller(session)
    return session.scalar(submissions_of(form).where(Submission.instance_id == instance_id))


#: Where a page of the newest records starts: (submission time, id) of the last record of the page before.
PageKey = tuple[datetime, int]


def _described_page(session: Session, form: Form, query: Select, limit: int) -> tuple[list[Submission], list[dict]]:
    """Read up to `limit` + 1 records of `query`; return the page's records and their bodies, redacted for the
    caller, audited (`submission.list`) once with the count. The extra record says whether more remain."""
    redaction = redaction_for(scope.require_caller(session))
    # A page's versions and their files in two queries, not two per record.
    loaded = query.options(selectinload(Submission.versions).selectinload(SubmissionVersion.attachments))
    page = list(session.scalars(loaded.limit(limit + 1)))
    rows = rows_of_versions(session, [current_of(s).id for s in page[:limit]])
    body = [submission_json(session, s, redaction, rows[current_of(s).id]) for s in page[:limit]]
    audit.record(session, "submission.list", f"form:{form.xml_form_id}", count=len(body))
    return page, body


def list_records(
    session: Session, form: Form, filters: Filters = Filters(), *, limit: int, after: int = 0
) -> tuple[list[dict], int | None]:
    """Return one page of a form's records (those after id `after`) and the cursor of the next page (None
    at the end), redacted for the caller; audited (`submission.list`) with the count."""
    scope.require_caller(session)
    page, body = _described_page(session, form, _query(form, filters).where(Submission.id > after), limit)
    return body, (page[limit - 1].id if len(page) > limit else None)


def list_newest(
    session: Session, form: Form, filters: Filters = Filters(), *, limit: int, before: PageKey | None = None
) -> tuple[list[dict], PageKey | None]:
    """Return one page of a form's records, newest first (those before `before` in (submission time, id)
    order), and the key of the next page (None at the end), redacted for the caller; audited as
    `list_records`. A keyset page, never an offset: the index on (form, submission time, id) finds page
    1,000 as fast as page 1."""
    scope.require_caller(session)
    order = (Submission.created_at.desc(), Submission.id.desc())
    query = _query(form, filters).order_by(None).order_by(*order)
    if before is not None:
        query = query.where(
            tuple_(Submission.created_at, Submission.id)
            < tuple_(literal(before[0], Submission.created_at.type), literal(before[1]))
        )
    page, body = _described_page(session, form, query, limit)
    last = page[limit - 1] if len(page) > limit else None
    return body, ((last.created_at, last.id) if last is not None else None)


def count_records(session: Session, form: Form, filters: Filters = Filters()) -> int:
    """Count a form's records the caller may see (a number, not an identifiable read: not audited)."""
    scope.require_caller(session)
    return count_of(session, _query(form, filters))


def search_condition(session: Session, fields: list[dict], text: str) -> ColumnElement[bool]:
    """Return the free-text condition for `text` over the fields the caller may filter on (a redacted caller
    never searches a sensitive answer: the records found would tell its value)."""
    scope.require_caller(session)
    return text_condition([f for f in fields if may_filter_on(session, f)], text)


def stream_records(
    session: Session, form: Form, filters: Filters = Filters()
) -> tuple[int, Callable[[Session | None], Iterator[dict]]]:
    """Return how many records a form has for the caller, and a function that yields every one of them, read
    page by page in constant memory and redacted for the caller; audited (`submission.list`) once, before the
    first record. Commit the session before reading.

    The records are read in `session`, or in the session handed to the function (a streamed response reads
    in a session of its own), which must read for the same caller.
    """
    caller = scope.require_caller(session)
    redaction = redaction_for(caller)
    query = _query(form, filters)
    count = count_of(session, query)
    audit.record(session, "submission.list", f"form:{form.xml_form_id}", count=count)

    def records(reader: Session | None = None) -> Iterator[dict]:
        reader = session if reader is None else reader
        if scope.require_caller(reader) != caller:
            raise scope.ScopeMissing("the records are read for another caller than the one audited")
        for record in in_pages(reader, query):
            yield submission_json(reader, record, redaction)

    return count, records


def list_test_records(session: Session, form: Form) -> list[dict]:
    """Return the test records sent to a form's draft (test data, never real: not redacted, not audited, as
    before; only the roles that manage forms reach it)."""
    redaction = redaction_for(scope.require_caller(session))
    return [submission_json(session, s, redaction) for s in session.scalars(submissions_of(form, drafts=True))]


def read_record(session: Session, submission: Submission, version: SubmissionVersion | None = None) -> dict:
    """Return a record (its current version, or `version`) with its data, redacted; audited."""
    redaction = redaction_for(scope.require_caller(session))
    if version is None:
        body = submission_json(session, submission, redaction)
        audit.record(session, "submission.read", f"submission:{submission.id}")
    else:
        body = version_json(session, version, redaction)
        audit.record(session, "submission.read", f"submission:{submission.id}", version=version.instance_id)
    return body


def read_versions(session: Session, submission: Submission) -> list[dict]:
    """Return every version of a record, newest first, each with its data, redacted; audited."""
    redaction = redaction_for(scope.require_caller(session))
    body = [version_json(session, v, redaction) for v in reversed(submission.versions)]
    audit.record(session, "submission.read_versions", f"submission:{submission.id}")
    return body


def read_xml(session: Session, submission: Submission, version: SubmissionVersion | None = None) -> bytes:
    """Return a record's instance XML (its current version, or `version`), redacted; audited."""
    redaction = redaction_for(scope.require_caller(session))
    xml = readable_xml(version or current_of(submission), redaction)
    details: dict[str, Any] = {"version": version.instance_id} if version is not None else {}
    audit.record(session, "submission.read_xml", f"submission:{submission.id}", **details)
    return xml


def read_file(session: Session, submission: Submission, name: str) -> SubmissionAttachment | None:
    """Return a received file of a record's current version (None: not received), audited.

    :raise FileRefused: a file of a sensitive question, for a caller who does not see identities.
    """
    redaction = redaction_for(scope.require_caller(session))
    version = current_of(submission)
    attachment = next((a for a in version.attachments if a.name == name and a.blob is not None), None)
    if attachment is None:
        return None
    if file_hidden(session, version, name, redaction):
        raise FileRefused(name)
    audit.record(session, "attachment.read", f"submission:{submission.id}", name=name)
    return attachment


def list_comments(session: Session, submission: Submission) -> list[dict]:
    """Return a record's comments, newest first, their text redacted for the caller; audited."""
    redaction = redaction_for(scope.require_caller(session))
    body = [comment_json(submission, c, redaction) for c in comments_of(session, submission)]
    audit.record(session, "comment.read", f"submission:{submission.id}", count=len(body))
    return body


def review_record(session: Session, submission: Submission, state: str | None) -> dict:
    """Set a record's review state and return the record as the caller sees it; audited with both states."""
    redaction = redaction_for(scope.require_caller(session))
    old, new = set_review_state(session, submission, state)
    if new == "approved" and old != "approved" and not submission.draft:
        _write_approved_entity(session, submission)
    body = submission_json(session, submission, redaction)
    audit.record(session, "submission.review", f"submission:{submission.id}", old=old, new=new)
    return body


def _write_approved_entity(session: Session, submission: Submission) -> None:
    """Give an approved record's entity to a list that requires approval (ingest.entities.submissions), with the
    province, consent and sender the record was stored with."""
    version = current_of(submission)
    xml = version.plain_xml if version.encrypted else version.xml
    form_version = session.get(FormVersion, version.form_version_id) if version.form_version_id else None
    if xml is None or form_version is None:
        return  # sealed and not yet decrypted, or of a version the server does not have: nothing to read
    try:
        root = parse(xml)
    except (UnsafeXMLError, ElementTree.ParseError):
        return  # stored, so once read; a record that no longer parses asks for nothing
    if version.device_id is not None:
        sender = device_caller(session.get(Device, version.device_id))
    elif version.user_id is not None:
        sender = user_caller(session.get(User, version.user_id))
    else:
        sender = SYSTEM
    origin = Approved(
        project_id=form_version.form.project_id,
        province=submission.province_code,
        withheld=submission.consent_withheld,
        editor=sender,
    )
    with scope.acting_as(session, SYSTEM):
        apply_approved(session, root, form_version.id, form_version.xml_md5, submission.id, origin)


def comment_on(session: Session, submission: Submission, text: str) -> dict:
    """Add the caller's comment to a record and return it as the caller sees it; audited without its text."""
    caller = scope.require_caller(session)
    comment = add_comment(session, submission, caller.user_id, text)
    body = comment_json(submission, comment, redaction_for(caller))
    audit.record(session, "comment.create", f"submission:{submission.id}", comment=comment.id)
    return body


def list_files(session: Session, submission: Submission) -> list[dict]:
    """Return the files a record's current version expects and whether each arrived (names only, not audited,
    as Central lists them)."""
    scope.require_caller(session)
    return [{"name": a.name, "exists": a.blob_id is not None} for a in current_of(submission).attachments]


def identities_hidden(session: Session) -> bool:
    """Say whether the caller reads real records with their sensitive answers hidden."""
    return redaction_for(scope.require_caller(session)).applies()


def may_filter_on(session: Session, field: dict) -> bool:
    """Say whether the caller may filter records on a field: not on a sensitive one when identities are hidden
    from it (the matching records would tell the value)."""
    redaction = redaction_for(scope.require_caller(session))
    return not (field.get("sensitive") and redaction.applies())
