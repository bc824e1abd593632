"""Work that must not slow a submission, run in the background.

With `REDIS_URL` set, jobs go to an RQ queue on Redis and a `collector worker` process runs them (as many
workers as wanted, on other machines too). Without it they run on one thread of the web process, so that
`make serve` needs nothing else; a job still running when the process stops is simply lost, and the next
request does its work.

The first job is person matching: a stored record of a form that asks who the person is (fields tagged with
identity tags) asks for an incremental match of its project (`ingest.persons.decisions.match`). Requests that arrive
while one is already waiting are folded into it: the waiting job will see their records, since it reads the
register when it starts. A failure to queue is logged and never fails the submission.
"""

from __future__ import annotations

import logging
import queue
import threading

from flask import Flask, current_app

from collector.ops.counters import job_failed
from ingest.persons.decisions import match

logger = logging.getLogger(__name__)

#: How long a "match waiting" mark may outlive a job that died without clearing it (seconds).
PENDING_TTL = 3600
#: How long the count of each job's runs is kept after the queue's last run (seconds).
RUNS_TTL = 7 * 86400


def request_person_match(project_id: int) -> None:
    """Ask for an incremental person match of a project, unless one is already waiting (never raises)."""
    app = current_app._get_current_object()
    if not app.config["PERSON_MATCH_ON_SUBMIT"]:
        return
    try:
        _jobs(app).request_match(project_id)
    except Exception as exc:  # a queue that is down must not cost the officer their record
        logger.warning("person match of project %s not queued: %s", project_id, type(exc).__name__)


def run_person_match(project_id: int) -> dict:
    """The job: clear the waiting mark, then match the project's register; return the run's counts.

    Runs inside an application context (the worker's, or the web process's thread's).
    """

    app = current_app._get_current_object()
    _jobs(app).started(project_id)
    session = app.extensions["collector.sessions"]()
    try:
        summary = match(session, project_id, incremental=True)
    finally:
        session.close()
    return {"cases": summary.cases, "changed": summary.changed, "pairs": summary.pairs}


def runs_key(queue_name: str) -> str:
    """Return the Redis hash that counts the runs of each job of a queue, by job id (see `record_run`)."""
    return f"collector:{queue_name}:job-runs"


def record_run(redis, key: str) -> None:
    """Count one more run of the RQ job running now under its id in the hash `key` (kept RUNS_TTL seconds).

    RQ hands each job to one worker; a count above 1 says a job ran again all the same (re-queued by hand,
    or a worker that died mid-job and whose job was requeued), which a job that is not idempotent must know.
    Outside an RQ job (the web process's thread) there is no id and nothing is counted.
    """
    from rq import get_current_job  # optional: Redis only when REDIS_URL is set

    job = get_current_job()
    if job is None:
        return
    with redis.pipeline() as pipe:
        pipe.hincrby(key, job.id, 1)
        pipe.expire(key, RUNS_TTL)
        pipe.execute()


def _jobs(app: Flask) -> _RedisJobs | _ThreadJobs:
    jobs = app.extensions.get("collector.jobs")
    if jobs is None:
        url = app.config.get("REDIS_URL")
        jobs = app.extensions["collector.jobs"] = _RedisJobs(url, app.config["JOB_QUEUE"]) if url else _ThreadJobs(app)
    return jobs


def queue_state(app: Flask) -> tuple[int | None, int | None]:
    """Return how many jobs wait to run and how many failed jobs RQ keeps (None without Redis); (None, None)
    when the queue cannot be read (Redis down)."""
    jobs = _jobs(app)
    if isinstance(jobs, _ThreadJobs):
        return jobs.waiting(), None
    try:
        return jobs.queue.count, jobs.queue.failed_job_registry.count
    except Exception as exc:  # a scrape must answer even with Redis down; it says so
        logger.warning("job queue not readable: %s", type(exc).__name__)
        return None, None


def redis_queue(app: Flask):
    """Return the RQ queue of `app`'s jobs.

    :raise RuntimeError: `REDIS_URL` is not set (jobs then run inside the web process).
    """
    jobs = _jobs(app)
    if not isinstance(jobs, _RedisJobs):
        raise RuntimeError("REDIS_URL is not set: jobs run inside the web process, and need no worker.")
    return jobs.queue


class _RedisJobs:
    """Jobs on an RQ queue; a Redis key per project says a match is already waiting."""

    def __init__(self, url: str, name: str):
        from redis import Redis  # optional: Redis only when REDIS_URL is set
        from rq import Queue  # optional: Redis only when REDIS_URL is set

        self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.queue = Queue(name, connection=self.redis)
        self._prefix = f"collector:{name}:match-waiting:"
        self.runs_key = runs_key(name)

    def request_match(self, project_id: int) -> None:
        if self.redis.set(f"{self._prefix}{project_id}", 1, nx=True, ex=PENDING_TTL):
            self.queue.enqueue(
                run_person_match,
                project_id,
                job_timeout=6 * 3600,
                result_ttl=86400,
                description=f"person match of project {project_id}",
            )

    def started(self, project_id: int) -> None:
        self.redis.delete(f"{self._prefix}{project_id}")
        record_run(self.redis, self.runs_key)


class _ThreadJobs:
    """Jobs on one daemon thread of this process, one at a time, in the order asked."""

    def __init__(self, app: Flask):
        self.app = app
        self._waiting: set[int] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def request_match(self, project_id: int) -> None:
        with self._lock:
            if project_id in self._waiting:
                return
            self._waiting.add(project_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="collector-jobs", daemon=True)
                self._thread.start()
        self._queue.put(project_id)

    def started(self, project_id: int) -> None:
        with self._lock:
            self._waiting.discard(project_id)

    def waiting(self) -> int:
        """Return how many jobs wait for the thread (not counting the one it runs)."""
        return self._queue.qsize()

    def wait(self) -> None:
        """Block until every job asked so far has run (for tests and orderly shutdowns)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            project_id = self._queue.get()
            try:
                with self.app.app_context():
                    run_person_match(project_id)
            except Exception as exc:
                self.started(project_id)
                job_failed("person_match")
                # The type only: an exception's text may quote the data.
                logger.error("person match of project %s failed: %s", project_id, type(exc).__name__)
            finally:
                self._queue.task_done()
