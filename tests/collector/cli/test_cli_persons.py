"""`collector persons match-file`: runs without an app database and writes pairs the scorer reads."""

import csv
from pathlib import Path

from click.testing import CliRunner

from collector.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "matching"


def test_persons_match_file_writes_record_id_pairs(tmp_path):
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(
        main, ["persons", "match-file", str(DATA / "records.csv"), "-o", str(out), "--min-score", "0.9"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["record_id_a", "record_id_b"]
    assert len(rows) > 50 and all(len(row) == 2 and row[0] < row[1] for row in rows[1:])
    assert "600 records (0 without a name, skipped)" in result.output


def test_persons_match_file_refuses_a_file_without_record_ids(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nSomphone\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["persons", "match-file", str(bad), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert "record_id" in result.output


PASSWORD = "a long enough password"


def test_persons_match_candidates_link_and_list_over_the_register(runner, db_session, tmp_path):
    from sqlalchemy import select

    from ingest.accounts.users import create_user
    from ingest.models import AuditEvent
    from ingest.persons import identities
    from ingest.publishing.versions import ensure_project
    from tests.support.persons import SMALL

    ensure_project(db_session, 1)
    create_user(db_session, "officer01@example.la", PASSWORD, "provincial-officer", provinces=["01"])
    create_user(db_session, "analyst@example.la", PASSWORD, "analyst")
    db_session.commit()
    identities.load_person_records(db_session, 1, SMALL)

    out = tmp_path / "pairs.csv"
    result = runner.invoke(["persons", "match", "--export-pairs", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(SMALL)} cases (1 without a name, skipped;" in result.output
    assert "01-a,02-a" in out.read_text(encoding="utf-8")
    again = runner.invoke(["persons", "match"])
    assert "0 changed since the last run" in again.output

    mine = runner.invoke(["persons", "candidates", "--as", "officer01@example.la"])
    assert mine.exit_code == 0, mine.output
    lines = [line for line in mine.output.splitlines() if "<->" in line]
    assert len(lines) == 1 and "Somphone" in lines[0] and "02-a [02] (hidden)" in lines[0]
    analyst = runner.invoke(["persons", "candidates", "--as", "analyst@example.la", "--min-score", "0.5"])
    assert "Somphone" not in analyst.output and "(hidden)" in analyst.output
    assert (
        runner.invoke(["persons", "candidates", "--province", "04", "--json"]).output.count('"caseCode": "04-b"') == 1
    )

    refused = runner.invoke(["persons", "link", "01-a", "02-a", "--confirm", "--as", "analyst@example.la"])
    assert refused.exit_code == 1 and "may not read identities" in refused.output
    assert runner.invoke(["persons", "link", "01-a", "02-a"]).exit_code == 1
    done = runner.invoke(["persons", "link", "02-a", "01-a", "--confirm", "--as", "officer01@example.la"])
    assert done.exit_code == 0 and "01-a and 02-a: confirmed" in done.output
    listed = runner.invoke(["persons", "list"])
    assert listed.output.startswith("01-a: 01-a [01]") and "02-a [02]" in listed.output
    split = runner.invoke(["persons", "link", "01-a", "02-a", "--reject"])
    assert split.exit_code == 0 and "rejected" in split.output
    after = runner.invoke(["persons", "list"]).output
    assert "0 person(s)" in after and "01-a:" not in after
    assert runner.invoke(["persons", "link", "01-a", "nope", "--confirm"]).exit_code == 1

    db_session.rollback()
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("person.%"))).all()
    assert sorted(set(actions)) == [
        "person.candidates",
        "person.confirm",
        "person.export",
        "person.list",
        "person.reject",
    ]
