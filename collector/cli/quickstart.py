"""`collector setup`: the quick start (migrate, publish the bundled forms, show a ready device)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import fail, main
from collector.cli.db import upgrade_database
from collector.cli.devices import show_device
from collector.cli.forms import publish_paths
from collector.db import get_session
from collector.ops import publicurl
from forms import BUNDLED_FORMS_DIR
from forms.java import java_problem
from ingest.accounts.admin import add_device
from ingest.accounts.users import assign_forms
from ingest.models import Device
from ingest.publishing.versions import ensure_project


@main.command("setup")
@click.option("--device-name", default="Quick-start tablet", show_default=True)
@with_appcontext
def setup(device_name):
    """Migrate the database, publish the bundled forms and show a ready device (safe to re-run)."""

    problem = java_problem() if current_app.config["VALIDATE_FORMS"] else None
    if problem:
        fail(problem)
    upgrade_database(current_app.config["DATABASE_URL"])
    publish_paths(sorted(BUNDLED_FORMS_DIR.glob("*.xlsx")), 1)
    session = get_session()
    project = ensure_project(session, 1, current_app.config["PROJECT_NAME"])
    device = session.scalar(
        select(Device)
        .where(Device.project_id == 1, Device.display_name == device_name, Device.revoked_at.is_(None))
        .order_by(Device.id)
    )
    if device is None:
        device = add_device(session, 1, device_name, via="setup")
    else:
        assign_forms(session, device, None)  # forms published since the last run reach the tablet too
    session.commit()
    if publicurl.remember(current_app):
        click.echo(f"Stored the public URL in {Path(current_app.instance_path) / publicurl.STORED_FILE}.")
    click.echo(f"Server URL: {current_app.config['PUBLIC_URL']}")
    show_device(device, project.name)
