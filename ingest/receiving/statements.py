"""The statements of the write path (ingest.receiving.submissions), built once: a new record goes to the
database in as few round trips as it can (on PostgreSQL the submission, its first version and every nesting
level of its rows in one statement); they run on the session's connection, with no ORM events (inserts carry
no scope criteria)."""

from __future__ import annotations

from sqlalchemy import Connection, Integer, String, bindparam, column, func, insert, select, true
from sqlalchemy.dialects.postgresql import JSONB

from ingest.models import Submission, SubmissionAttachment, SubmissionRow, SubmissionVersion
from ingest.normalise import Row
from ingest.receiving.storing import by_level

INSERT_SUBMISSION = insert(Submission.__table__).returning(Submission.__table__.c.id)
INSERT_VERSION = insert(SubmissionVersion.__table__).returning(SubmissionVersion.__table__.c.id)
INSERT_ATTACHMENT = insert(SubmissionAttachment.__table__)


def _insert_both():
    """WITH new_submission AS (INSERT INTO submissions ... RETURNING id), new_version AS (INSERT INTO
    submission_versions ... SELECT new_submission.id, ... RETURNING id, submission_id), row_ids AS (n_rows
    new ids of submission_rows), new_rows AS (INSERT INTO submission_rows ... FROM jsonb_to_recordset(rows))
    SELECT id, submission_id FROM new_version (PostgreSQL; binds s_<column>, v_<column>, n_rows and rows,
    the JSON array `_rows_param` makes). The submission, its first version and every nesting level of its
    rows in one statement, one round trip."""
    submissions, versions = Submission.__table__, SubmissionVersion.__table__
    columns = ["form_id", "instance_id", "draft", "device_id", "user_id", "province_code", "claimed_province"]
    columns += ["consent_withheld", "case_code", "created_at"]
    new_submission = (
        insert(submissions)
        .values({c: bindparam(f"s_{c}", type_=submissions.c[c].type) for c in columns})
        .returning(submissions.c.id)
        .cte("new_submission")
    )
    columns = ["form_id", "instance_id", "form_version_id", "version_string", "unknown_version", "current", "xml"]
    columns += ["xml_sha256", "device_id", "user_id", "encrypted", "device_ident", "user_agent", "sender_provinces"]
    columns += ["created_at"]
    values = select(new_submission.c.id, *(bindparam(f"v_{c}", type_=versions.c[c].type) for c in columns))
    new_version = (
        insert(versions)
        .from_select(["submission_id", *columns], values)
        .returning(versions.c.id, versions.c.submission_id)
        .cte("new_version")
    )
    # The rows' ids drawn from their sequence (a CTE with nextval is evaluated once), so that a child row
    # can point at its parent's id within the same statement; parents come first in `rows` (_rows_param).
    series = func.generate_series(1, bindparam("n_rows", type_=Integer)).table_valued("ord").render_derived()
    row_ids = select(series.c.ord, func.nextval(func.pg_get_serial_sequence("submission_rows", "id")).label("id")).cte(
        "row_ids"
    )
    parent_ids = row_ids.alias("parent_ids")
    sent = (
        func.jsonb_to_recordset(bindparam("rows", type_=JSONB))
        .table_valued(
            column("ord", Integer),
            column("parent", Integer),
            column("path", String),
            column("position", Integer),
            column("data", JSONB),
        )
        .render_derived(name="sent", with_types=True)
    )
    table = SubmissionRow.__table__
    new_rows = (
        insert(table)
        .from_select(
            ["id", "submission_version_id", "path", "position", "parent_id", "data"],
            select(row_ids.c.id, new_version.c.id, sent.c.path, sent.c.position, parent_ids.c.id, sent.c.data)
            .select_from(sent)
            .join(row_ids, row_ids.c.ord == sent.c.ord)
            .outerjoin(parent_ids, parent_ids.c.ord == sent.c.parent)
            .join(new_version, true()),
        )
        .cte("new_rows")
    )
    return select(new_version.c.id, new_version.c.submission_id).add_cte(new_rows)


def _rows_param(rows: list[Row]) -> list[dict]:
    """The rows reachable from a root as `_insert_both` reads them: parents first, each with its ordinal and
    its parent's (none for a root)."""
    ordered = by_level(rows)
    ordinal = {id(row): n for n, row in enumerate(ordered, 1)}
    return [
        {
            "ord": ordinal[id(r)],
            "parent": ordinal[id(r.parent)] if r.parent is not None else None,
            "path": r.path,
            "position": r.position,
            "data": r.data,
        }
        for r in ordered
    ]


INSERT_BOTH = _insert_both()


def insert_first(connection: Connection, submission: dict, version: dict, rows: list[Row]) -> tuple[int, int, bool]:
    """Insert a new record and its first version (and on PostgreSQL its rows); return the version's id, the
    submission's id and whether the rows went in too (else the caller inserts them, level by level)."""
    if connection.dialect.name == "postgresql":
        sent = _rows_param(rows)
        params = {f"s_{k}": v for k, v in submission.items()} | {f"v_{k}": v for k, v in version.items()}
        version_id, submission_id = connection.execute(INSERT_BOTH, {**params, "n_rows": len(sent), "rows": sent}).one()
        return version_id, submission_id, True
    submission_id = connection.execute(INSERT_SUBMISSION, submission).scalar_one()
    return insert_version(connection, submission_id, version), submission_id, False


def insert_version(connection: Connection, submission_id: int, version: dict) -> int:
    """Insert a version of a stored record (an edit, or a first version on SQLite); return its id."""
    return connection.execute(INSERT_VERSION, {"submission_id": submission_id, **version}).scalar_one()
