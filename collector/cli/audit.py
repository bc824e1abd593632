"""`collector audit`: read the audit log (who did or read what, when, from where), itself an audited read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import act_as, fail, main
from collector.db import get_session
from ingest.audit import MAX_LIMIT, parse_moment, read_events
from ingest.models import User


def _utc(moment: datetime) -> str:
    """Format a stored moment in UTC (SQLite gives it back without a zone, PostgreSQL in the session's)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@main.command("audit")
@click.option(
    "--since",
    metavar="DATE",
    default=None,
    help="Only events from this ISO 8601 date or moment on (UTC unless a zone is given).",
)
@click.option("--user", "email", metavar="EMAIL", default=None, help="Only what this web user did.")
@click.option(
    "--action", default=None, help="Only this action (session.failed) or category (session: every session.* action)."
)
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(1, MAX_LIMIT),
    help="Show at most this many events: the most recent ones.",
)
@with_appcontext
def audit(since, email, action, limit):
    """Print audit events, oldest first (the most recent LIMIT of them), one a line, tab-separated:
    time, who (a user's email, device:ID, or - for the server), action, resource, address, details as JSON."""
    session = get_session()
    try:
        start = parse_moment(since) if since else None
    except ValueError:
        fail(f"--since {since!r} is not an ISO 8601 date or moment, such as 2026-12-01 or 2026-12-01T08:00Z.")
    user_id = None
    if email:
        user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()))
        if user_id is None:
            fail(f"No user with the email {email}.")
    act_as(session, None, "admin", "the audit")  # the command line reads as the server
    # Newest first to take the most recent LIMIT, then printed in time order, as a log reads.
    asked = {"since": since, "userFilter": user_id, "actionFilter": action, "limit": limit}
    events = list(reversed(read_events(session, asked, since=start, user_id=user_id, action=action, limit=limit)))
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_({e.user_id for e in events if e.user_id is not None}))
        ).all()
    )
    for event in events:
        who = (
            emails.get(event.user_id)
            if event.user_id is not None
            else (f"device:{event.device_id}" if event.device_id is not None else "-")
        )
        click.echo(
            "\t".join(
                [
                    _utc(event.at),
                    who or f"user:{event.user_id}",
                    event.action,
                    event.resource,
                    event.address or "-",
                    json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True),
                ]
            )
        )
    session.commit()
    click.echo(f"{len(events)} event(s).", err=True)
