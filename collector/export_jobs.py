"""Large exports built by a background job on Redis, for the console to follow and download.

With `REDIS_URL` set, the console does not hold a request open while a large export builds: it queues a
job (`run_export`) on the same RQ queue as the other background work (collector.jobs), shows its progress,
and sends the finished file. The job reads for the user who asked, as that user and from their address:
the export service scopes, redacts and audits it as it does a direct download. The file lives in Redis
only, in chunks under a key that expires after `KEEP_SECONDS`, and only the user who asked may read it
or its progress. Without Redis the console streams the export directly and this module is not used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import Flask, current_app

from collector.db import get_store
from collector.jobs import record_run, redis_queue, runs_key
from ingest import audit, scope
from ingest.access import user_caller
from ingest.exports.formats import FORMATS
from ingest.exports.service import export_records
from ingest.exports.walk import Filters
from ingest.models import Form, User

logger = logging.getLogger(__name__)

#: How long a finished export stays downloadable (seconds); the key then expires with the data.
KEEP_SECONDS = 3600
#: How long a job may run before RQ stops it (seconds).
JOB_TIMEOUT = 3 * 3600
#: Bytes of the file kept in one Redis list item (the download sends one at a time).
PIECE = 1024 * 1024
#: Records between two progress reports.
REPORT_EVERY = 200


@dataclass(frozen=True)
class ExportOrder:
    """What a user asked to export: one form's records in one format, with the options the console offers."""

    user_id: int
    form_id: int
    fmt: str
    lang: str | None = None
    start: str | None = None
    end: str | None = None
    bom: bool = False
    address: str | None = None


def available(app: Flask) -> bool:
    """Say whether exports can be built in the background (REDIS_URL is set)."""
    return bool(app.config.get("REDIS_URL"))


def _file_key(app: Flask, job_id: str) -> str:
    return f"collector:{app.config['JOB_QUEUE']}:export-file:{job_id}"


def start(app: Flask, order: ExportOrder, name: str) -> str:
    """Queue the export, whose file will be called `name`, and return its job id."""
    queue = redis_queue(app)
    job = queue.enqueue(
        run_export,
        asdict(order),
        job_timeout=JOB_TIMEOUT,
        result_ttl=KEEP_SECONDS,
        failure_ttl=KEEP_SECONDS,
        ttl=KEEP_SECONDS,
        meta={"user_id": order.user_id, "done": 0, "total": None, "name": name},
        description=f"export of form {order.form_id} as {order.fmt}",
    )
    return job.id


@dataclass(frozen=True)
class ExportState:
    """Where a job stands: queued, started, finished or failed, with records written of how many."""

    state: str
    done: int
    total: int | None
    name: str | None
    mimetype: str | None


def state(app: Flask, job_id: str, user_id: int) -> ExportState | None:
    """Return the state of a job of `user_id`; None for no such job, or one another user asked for."""
    from rq.exceptions import NoSuchJobError  # optional: Redis only when REDIS_URL is set
    from rq.job import Job  # optional: Redis only when REDIS_URL is set

    queue = redis_queue(app)
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return None
    meta = job.get_meta(refresh=True)
    if meta.get("user_id") != user_id:
        return None
    status = str(getattr(job.get_status(), "value", job.get_status()))
    shown = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "started"}
    if status == "finished":
        shown_state = "finished" if queue.connection.exists(_file_key(app, job_id)) else "expired"
    else:
        shown_state = shown.get(status, "failed")
    return ExportState(
        shown_state, int(meta.get("done") or 0), meta.get("total"), meta.get("name"), meta.get("mimetype")
    )


def file_pieces(app: Flask, job_id: str) -> Iterator[bytes]:
    """Yield a finished export's bytes, a piece at a time (check `state` for the user first)."""
    redis = redis_queue(app).connection
    key = _file_key(app, job_id)
    for index in range(redis.llen(key)):
        piece = redis.lindex(key, index)
        if piece is None:  # expired while it was being sent
            return
        yield piece


def run_export(order: dict) -> dict:
    """The job: export for the user who asked, as they may see it, into Redis; return the count.

    Runs inside an application context (the worker's). A user disabled, or whose role lost the right to read
    records, since asking gets nothing.
    """
    from rq import get_current_job  # optional: Redis only when REDIS_URL is set

    app = current_app._get_current_object()
    asked = ExportOrder(**order)
    job = get_current_job()
    session = app.extensions["collector.sessions"]()
    redis = redis_queue(app).connection
    record_run(redis, runs_key(app.config["JOB_QUEUE"]))
    key = _file_key(app, job.id)
    try:
        user = session.get(User, asked.user_id)
        if user is None or user.disabled_at is not None or not user_caller(user).may("records"):
            raise PermissionError("the user who asked for the export may no longer read records")
        scope.use(session, user_caller(user))
        audit.use_address(session, asked.address)
        form = session.get_one(Form, asked.form_id)
        filters = Filters(
            start=datetime.fromisoformat(asked.start) if asked.start else None,
            end=datetime.fromisoformat(asked.end) if asked.end else None,
        )
        written = 0

        def progress() -> None:
            nonlocal written
            written += 1
            if written % REPORT_EVERY == 0:
                job.meta["done"] = written
                job.save_meta()

        total, chunks = export_records(
            session, asked.fmt, form, filters, lang=asked.lang, store=get_store(), bom=asked.bom, on_record=progress
        )
        session.commit()
        spec = FORMATS[asked.fmt]
        job.meta.update(total=total, name=f"{form.xml_form_id}{spec.suffix}", mimetype=spec.mimetype)
        job.save_meta()
        buffer = bytearray()
        redis.delete(key)
        for chunk in chunks(None):
            buffer += chunk
            if len(buffer) >= PIECE:
                redis.rpush(key, bytes(buffer))
                redis.expire(key, KEEP_SECONDS)
                buffer.clear()
        redis.rpush(key, bytes(buffer))
        redis.expire(key, KEEP_SECONDS)
        job.meta["done"] = written
        job.save_meta()
        return {"records": total}
    except BaseException:
        redis.delete(key)  # never leave part of a file behind
        # The type only: an exception's text may quote the data.
        logger.warning("export job %s failed", job.id)
        raise
    finally:
        session.close()
