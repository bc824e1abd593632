"""The `collector` command line: each group lives in its own module and registers itself on `main`."""

from collector.cli import (  # noqa: F401  (registers the groups)
    audit,
    backup,
    ctdc,
    db,
    devices,
    doctor,
    export,
    forms,
    handbook,
    keys,
    persons,
    quickstart,
    retention,
    stats,
    submissions,
    tasks,
    tokens,
    users,
    worker,
)
from collector.cli.base import main
from collector.cli.db import upgrade_database

__all__ = ["main", "upgrade_database"]
