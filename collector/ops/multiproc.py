"""The folder where gunicorn's workers share their metrics (prometheus_client's multi-process mode).

Used by deploy/gunicorn.conf.py before any worker starts, so it must not import prometheus_client itself:
the client chooses between one-process and multi-process values when it is first imported, from
PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare(instance_path: str | os.PathLike, arbiter_pid: int) -> str:
    """Make `<instance>/metrics/<arbiter pid>` empty and return it; remove the folders of arbiters that are gone.

    One folder per gunicorn master: two servers sharing an instance folder (two ports on one host) never
    mix or wipe each other's counts, and a restarted server starts from zero, as Prometheus expects.
    """
    base = Path(instance_path) / "metrics"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in base.iterdir():
        if old.is_dir() and old.name.isdigit() and (int(old.name) == arbiter_pid or not _alive(int(old.name))):
            shutil.rmtree(old, ignore_errors=True)
    folder = base / str(arbiter_pid)
    folder.mkdir(mode=0o700)
    return str(folder)


def worker_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (gunicorn's child_exit); its counters stay counted."""
    from prometheus_client import multiprocess  # only once PROMETHEUS_MULTIPROC_DIR is set

    multiprocess.mark_process_dead(pid)
