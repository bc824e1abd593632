"""`collector persons`: find records of the same person across provinces."""

from __future__ import annotations

import json
import time

import click
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, fail, main
from collector.db import get_session
from ingest import scope
from ingest.models import Project
from ingest.persons.decisions import CaseNotFound, LinkConflict, PersonError, decide, match, person_key_of
from ingest.persons.matching import DEFAULT_THRESHOLD, match_file
from ingest.persons.service import list_candidates, list_persons, write_pairs


@main.group()
def persons():
    """Find records of the same person across provinces."""


@persons.command("match-file")
@click.argument("records", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="CSV file to write record_id_a,record_id_b rows to.",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Match probability from which a pair is written.",
)
def persons_match_file(records, output, min_score):
    """Match the records of a CSV file (the development set's columns) and write the likely duplicate pairs."""

    started = time.monotonic()
    try:
        summary = match_file(records, output, min_score)
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        fail(f"Cannot match {records}: {exc}")
    click.echo(
        f"{summary.records} records ({summary.skipped_without_name} without a name, skipped); "
        f"{summary.pairs} pairs written to {output} in {time.monotonic() - started:.1f} s"
    )


def _project_option(command):
    return click.option("--project", "project_id", default=1, show_default=True, help="Project id.")(command)


@persons.command("match")
@click.option(
    "--full", is_flag=True, help="Recompute every pending pair, not only those of cases changed since the last run."
)
@click.option(
    "--export-pairs",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the pending and confirmed pairs as record_id_a,record_id_b rows (case codes).",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Match probability from which a pair is kept.",
)
@_project_option
@with_appcontext
def persons_match(full, export_pairs, min_score, project_id):
    """Match the cases of the register and store the likely duplicate pairs for review (incremental by default)."""

    session = get_session()
    find_project(session, project_id)
    started = time.monotonic()
    summary = match(session, project_id, incremental=not full, threshold=min_score)
    click.echo(
        f"{summary.cases} cases ({summary.skipped_without_name} without a name, skipped; "
        f"{summary.changed} {'matched' if summary.full else 'changed since the last run'}); "
        f"{summary.pairs} candidate pairs stored in {time.monotonic() - started:.1f} s"
    )
    if export_pairs:
        act_as(session, None, "records", "records")  # the server writes every pair
        n = write_pairs(session, project_id, export_pairs)
        session.commit()
        click.echo(f"{n} pairs written to {export_pairs}")


def _name(side: dict) -> str:
    lao = " ".join(filter(None, (side.get("givenLo"), side.get("familyLo"))))
    latin = " ".join(filter(None, (side.get("givenLatin"), side.get("familyLatin"))))
    if side["redacted"]:
        return "(hidden)"
    return " / ".join(filter(None, (lao, latin))) or "-"


def _describe(side: dict) -> str:
    born = side.get("birthDate") or side.get("birthYear") or "?"
    return f"{side['caseCode']} [{side['province'] or '--'}] {_name(side)} b.{born}"


@persons.command("candidates")
@click.option("--province", default=None, help="Only pairs with a case in this province (two digits).")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None, help="Only pairs scoring at least this.")
@click.option("--limit", default=100, show_default=True, help="Most pairs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the API answers) instead of lines.")
@_project_option
@as_option
@with_appcontext
def persons_candidates(province, min_score, limit, as_json, project_id, as_email):
    """List the candidate pairs the user may see, best first within each page, redacted for their role (audited)."""

    session = get_session()
    act_as(session, as_email, "records", "records")
    find_project(session, project_id)
    try:
        page, _cursor = list_candidates(session, project_id, province, min_score, limit)
    except PersonError as exc:
        fail(str(exc))
    session.commit()
    if as_json:
        click.echo(json.dumps({"candidates": page}, ensure_ascii=False, indent=1))
        return
    for pair in sorted(page, key=lambda p: -p["score"]):
        click.echo(f"{pair['score']:.3f}  {_describe(pair['a'])}  <->  {_describe(pair['b'])}")
    click.echo(f"{len(page)} candidate pair(s)", err=True)


@persons.command("link")
@click.argument("a")
@click.argument("b")
@click.option("--confirm", "decision", flag_value="confirm", help="The two cases are one person.")
@click.option("--reject", "decision", flag_value="reject", help="They are not; never propose the pair again.")
@_project_option
@as_option
@with_appcontext
def persons_link(a, b, decision, project_id, as_email):
    """Confirm or reject that cases A and B are one person (audited)."""

    if decision is None:
        fail("Say --confirm or --reject.")
    session = get_session()
    act_as(session, as_email, "identities", "identities")
    find_project(session, project_id)
    try:
        link = decide(session, project_id, a, b, decision, scope.caller_of(session))
    except (CaseNotFound, LinkConflict, PersonError) as exc:
        session.rollback()
        fail(str(exc))
    session.commit()
    click.echo(
        f"{link.case_a} and {link.case_b}: {link.state}; persons "
        f"{person_key_of(session, project_id, link.case_a)} and {person_key_of(session, project_id, link.case_b)}"
    )


@persons.command("list")
@click.option("--limit", default=100, show_default=True, help="Most persons to list.")
@_project_option
@as_option
@with_appcontext
def persons_list(limit, project_id, as_email):
    """List the persons of more than one case with their cases (audited)."""

    session = get_session()
    act_as(session, as_email, "records", "records")
    find_project(session, project_id)
    try:
        page, _cursor = list_persons(session, project_id, limit)
    except PersonError as exc:
        fail(str(exc))
    session.commit()
    for person in page:
        click.echo(f"{person['personKey']}: " + "; ".join(_describe(side) for side in person["cases"]))
    click.echo(f"{len(page)} person(s) of more than one case", err=True)


def find_project(session, project_id: int) -> None:
    """Exit with status 1 when there is no such project."""

    if session.get(Project, project_id) is None:
        fail(f"No project {project_id}.")
