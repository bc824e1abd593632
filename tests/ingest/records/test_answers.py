"""Typed conditions on answers (ingest.records.answers) run on both databases, over a scratch table shaped like
submission_rows.data: numbers, kept texts in number fields, choice lists, dates, nulls and hostile values."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from ingest.db import JSONType, make_engine
from ingest.records.answers import BadValue, UnknownField, compare, date_part, resolve, typed

FIELDS = [
    {"path": "/data/age", "name": "age", "xml_type": "int", "kind": "question"},
    {"path": "/data/score", "name": "score", "xml_type": "decimal", "kind": "question"},
    {"path": "/data/types", "name": "types", "xml_type": "select", "kind": "question"},
    {"path": "/data/gender", "name": "gender", "xml_type": "select1", "kind": "question"},
    {"path": "/data/when", "name": "when", "xml_type": "date", "kind": "question"},
    {"path": "/data/grp/name", "name": "name", "xml_type": "string", "kind": "question"},
    {"path": "/data/other/name", "name": "name", "xml_type": "string", "kind": "question"},
    {"path": "/data/photo", "name": "photo", "xml_type": "binary", "kind": "question", "binary": True},
    {"path": "/data/grp", "name": "grp", "xml_type": "string", "kind": "group"},
]
ROWS = [
    {
        "age": 17,
        "score": 2.5,
        "types": ["ForcedLabour", "SexualExploit"],
        "gender": "Female",
        "when": "2026-03-09",
        "grp/name": "ນາງ ສົມໃຈ",
    },
    {
        "age": 30,
        "score": 10,
        "types": ["ForcedLabour"],
        "gender": "Male",
        "when": "2025-12-31",
        "grp/name": "100% o'brien_x",
    },
    {"age": "seventeen", "score": "n/a", "types": [], "gender": None, "when": "not a date", "grp/name": None},
    {},
]


@pytest.fixture
def rows(database_url):
    engine = make_engine(database_url)
    table = Table("scratch_answers", MetaData(), Column("id", Integer, primary_key=True), Column("data", JSONType))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i + 1, "data": d} for i, d in enumerate(ROWS)])
    yield engine, table
    table.drop(engine)
    engine.dispose()


def ids(rows, condition) -> list[int]:
    engine, table = rows
    with engine.connect() as conn:
        return sorted(conn.scalars(select(table.c.id).where(condition)))


def field(name: str) -> dict:
    return resolve(FIELDS, name)


def test_numbers_compare_as_numbers_and_kept_text_never_breaks_the_query(rows):
    data = rows[1].c.data
    assert ids(rows, compare(data, field("age"), "eq", typed(field("age"), "17"))) == [1]
    assert ids(rows, compare(data, field("age"), "ge", 18)) == [2]
    assert ids(rows, compare(data, field("age"), "lt", 100)) == [1, 2]
    assert ids(rows, compare(data, field("score"), "gt", typed(field("score"), "2.5"))) == [2]
    assert ids(rows, compare(data, field("score"), "le", typed(field("score"), "2.50"))) == [1]


def test_a_choice_of_several_matches_inside_the_list(rows):
    data = rows[1].c.data
    assert ids(rows, compare(data, field("types"), "eq", "ForcedLabour")) == [1, 2]
    assert ids(rows, compare(data, field("types"), "eq", "SexualExploit")) == [1]
    assert ids(rows, compare(data, field("types"), "ne", "SexualExploit")) == [2, 3]
    with pytest.raises(BadValue):
        compare(data, field("types"), "gt", "A")


def test_text_choice_date_and_null(rows):
    data = rows[1].c.data
    assert ids(rows, compare(data, field("gender"), "eq", "Female")) == [1]
    assert ids(rows, compare(data, field("gender"), "ne", "Female")) == [2]
    assert ids(rows, compare(data, field("gender"), "eq", None)) == [3, 4]
    assert ids(rows, compare(data, field("gender"), "ne", None)) == [1, 2]
    assert ids(rows, compare(data, field("when"), "ge", typed(field("when"), "2026-01-01"))) == [1, 3]
    assert ids(rows, compare(data, field("grp/name"), "eq", "ນາງ ສົມໃຈ")) == [1]


def test_contains_treats_wildcards_and_quotes_as_text(rows):
    data = rows[1].c.data
    assert ids(rows, compare(data, field("grp/name"), "contains", "ສົມ")) == [1]
    assert ids(rows, compare(data, field("grp/name"), "contains", "100%")) == [2]
    assert ids(rows, compare(data, field("grp/name"), "contains", "%")) == [2]
    assert ids(rows, compare(data, field("grp/name"), "contains", "o'brien_")) == [2]
    assert ids(rows, compare(data, field("grp/name"), "contains", "_")) == [2]
    assert ids(rows, compare(data, field("grp/name"), "eq", "x' OR '1'='1")) == []


def test_date_parts_skip_text_that_is_not_a_date(rows):
    data = rows[1].c.data
    assert ids(rows, date_part(data, field("when"), "year") == 2026) == [1]
    assert ids(rows, date_part(data, field("when"), "month") == 12) == [2]
    assert ids(rows, date_part(data, field("when"), "day") == 9) == [1]
    with pytest.raises(BadValue):
        date_part(data, field("age"), "year")
    with pytest.raises(BadValue):
        date_part(data, field("when"), "hour")


def test_resolve_and_typed_refuse_clearly():
    with pytest.raises(UnknownField, match="'nope'"):
        resolve(FIELDS, "nope")
    with pytest.raises(UnknownField, match="ambiguous"):
        resolve(FIELDS, "name")
    with pytest.raises(UnknownField):
        resolve(FIELDS, "photo")
    assert resolve(FIELDS, "other/name")["path"] == "/data/other/name"
    for name, text in (("age", "1.5"), ("age", "١٧"), ("score", "NaN"), ("score", "x"), ("when", "2026-13-01")):
        with pytest.raises(BadValue, match=name):
            typed(field(name), text)
    assert typed(field("age"), " 17 ") == 17
