"""`collector persons match-file`: runs without an app database and writes pairs the scorer reads."""
import csv
from pathlib import Path

from click.testing import CliRunner

from collector.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "matching"


def test_persons_match_file_writes_record_id_pairs(tmp_path):
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(main, ["persons", "match-file", str(DATA / "records.csv"), "-o", str(out),
                                       "--min-score", "0.9"])
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
