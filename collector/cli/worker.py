"""`collector worker`: run the background jobs queued on Redis (person matching)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import fail, main
from collector.jobs import redis_queue
from collector.ops import logs


@main.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop (instead of waiting for more).")
@with_appcontext
def worker(burst):
    """Run the jobs of the RQ queue on REDIS_URL; start as many as wanted, on any machine with the settings.

    Without REDIS_URL there is nothing to run: the web process then runs its jobs itself.
    """
    from rq import SimpleWorker  # optional: Redis only when REDIS_URL is set

    app = current_app._get_current_object()
    logs.configure(app)
    try:
        queue = redis_queue(app)
    except RuntimeError as exc:
        fail(str(exc))
    # SimpleWorker runs each job in this process, inside the application context the command runs in.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
