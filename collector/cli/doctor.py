"""`collector doctor`: check the database, media store, queue, Java, disk and public URL, one line each."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import main
from collector.ops import doctor as checks

_COLOURS = {"ok": "green", "warn": "yellow", "FAIL": "red"}


@main.command("doctor")
@click.option("--deep", is_flag=True, help="Also read every stored file and check its sha256 (slow on a big store).")
@with_appcontext
def doctor(deep):
    """Check that everything the server needs works, one line per check; exit 1 when one fails."""
    findings = checks.run(current_app._get_current_object(), deep=deep)
    for finding in findings:
        click.secho(f"{finding.status:<4}  {finding.name}: {finding.detail}", fg=_COLOURS[finding.status])
    sys.exit(1 if any(f.failed for f in findings) else 0)
