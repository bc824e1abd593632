"""The person matcher on a slice of the development set (600 records of whole persons, with their labels)."""

import csv
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

from ingest.persons.matching import PersonRecord, match_records, read_records

# Floors a little under what the matcher measures on this slice (see docs/benchmarks/index.md, "Person matching").
PRECISION_FLOOR, RECALL_FLOOR = 0.9, 0.75
DATA = Path(__file__).resolve().parents[2] / "data" / "matching"


def true_pairs() -> set[tuple[str, str]]:
    by_person = defaultdict(list)
    with open(DATA / "truth.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_person[row["person_id"]].append(row["record_id"])
    return {pair for ids in by_person.values() for pair in itertools.combinations(sorted(ids), 2)}


@pytest.fixture(scope="module")
def predicted():
    return {(c.record_id_a, c.record_id_b) for c in match_records(read_records(DATA / "records.csv"))}


def test_matcher_precision_and_recall_on_development_slice(predicted):
    truth = true_pairs()
    hits = len(predicted & truth)
    precision, recall = hits / len(predicted), hits / len(truth)
    assert precision >= PRECISION_FLOOR, (precision, recall)
    assert recall >= RECALL_FLOOR, (precision, recall)


def test_matcher_pairs_are_ordered_and_unique(predicted):
    assert all(a < b for a, b in predicted)


def test_matcher_skips_records_without_a_name():
    records = [PersonRecord(record_id="x1"), PersonRecord(record_id="x2", given_latin="Somphone")]
    assert match_records(records) == []


def test_matcher_uses_the_shipped_model_for_a_short_list():
    by_person = defaultdict(list)
    with open(DATA / "truth.csv", encoding="utf-8", newline="") as f:
        person = {row["record_id"]: row["person_id"] for row in csv.DictReader(f)}
    for record in read_records(DATA / "records.csv"):
        by_person[person[record.record_id]].append(record)
    groups = [g for g in by_person.values() if len(g) > 1][:15] + [g for g in by_person.values() if len(g) == 1][:60]
    short = [r for g in groups for r in g]
    truth = {tuple(sorted((a.record_id, b.record_id))) for g in groups for a, b in itertools.combinations(g, 2)}
    predicted = {(c.record_id_a, c.record_id_b) for c in match_records(short)}
    assert len(short) < 500
    assert len(predicted & truth) >= 0.7 * len(truth)
    assert len(predicted & truth) >= 0.9 * len(predicted)
