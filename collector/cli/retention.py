"""`collector retention`: how long closed cases keep their identities, and blanking those past it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from collector.cli.base import fail, find_form, main
from collector.db import get_session, get_store
from ingest.cases.retention import apply_retention, purge_files, set_retention


@main.group()
def retention():
    """Blank the identities of cases closed for longer than their form's retention period."""


@retention.command("set")
@click.option("--form", "xml_form_id", required=True, help="Form ID, e.g. case_intake.")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Days a closed case keeps its identities before `retention apply` blanks them.",
)
@click.option("--off", is_flag=True, help="Keep this form's closed cases for ever (the default).")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def retention_set(xml_form_id, days, off, project_id):
    """Set (or with --off clear) a form's retention period; audited."""

    if (days is None) == (not off):
        fail("Give either --days N or --off.")
    session = get_session()
    form = find_form(session, project_id, xml_form_id)
    set_retention(session, form, None if off else days)
    session.commit()
    click.echo(
        f"{xml_form_id}: closed cases are kept for ever."
        if off
        else f"{xml_form_id}: identities of cases closed for more than {days} day(s) are blanked by "
        "`collector retention apply --apply`."
    )


@retention.command("apply")
@click.option("--form", "xml_form_id", default=None, help="Only this form (default: every form with a period).")
@click.option("--apply", "act", is_flag=True, help="Blank the records; without it, only say what would be done.")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def retention_apply(xml_form_id, act, project_id):
    """Blank sensitive fields, raw XML and sensitive files of closed cases past their form's retention period.

    A dry run by default: it reports, per form, how many records, fields and files would be blanked, and
    changes nothing. With --apply it does so in one transaction, audited (retention.apply, counts only), then
    deletes from the media store the bytes of every file no record or form refers to any more.
    """

    session = get_session()
    form = find_form(session, project_id, xml_form_id) if xml_form_id else None
    report = apply_retention(session, form=form, act=act)
    purged = None
    if act:
        session.commit()
        purged = purge_files(session, get_store())
    else:
        session.rollback()
    if not report.forms:
        click.echo("No form has a retention period: set one with `collector retention set --form ID --days N`.")
    verb = "blanked" if act else "would blank"
    for item in report.forms:
        if item.no_status_field:
            click.secho(
                f"{item.xml_form_id}: no field tagged case_status, so no case can be seen closed; nothing done.",
                fg="yellow",
            )
            continue
        click.echo(
            f"{item.xml_form_id} ({item.days} days): {verb} {item.records} record(s), "
            f"{item.fields} field(s), {item.files} file(s)."
        )
        if item.sealed:
            click.secho(
                f"  {item.sealed} old record(s) still sealed, their status unknown: unlock the form's key "
                "(`collector keys unlock`) and run again.",
                fg="yellow",
            )
    if purged is not None and (purged.removed or purged.kept_recent):
        click.echo(
            f"Media store: deleted {purged.removed} file(s) no record refers to any more"
            + (
                f"; {purged.kept_recent} written in the last hour kept until a later run."
                if purged.kept_recent
                else "."
            )
        )
    if not act and any(f.records for f in report.forms):
        click.echo("Dry run: nothing was changed. Run again with --apply to blank them.")
