"""Normalising instances into typed root and repeat rows."""

from __future__ import annotations

from forms.compiler import compile_xlsform
from ingest.normalise import nest, normalise
from ingest.xmlsafe import parse
from tests.conftest import DATA, make_instance


def fields():
    return compile_xlsform(DATA / "sample_case.xlsx", validate=False).fields


def test_values_are_typed_and_repeats_become_child_rows():
    rows = normalise(parse(make_instance("uuid:n1", age="31")), fields())
    root, first, second = rows
    assert root.path == "/data" and root.parent is None
    assert root.data["age"] == 31 and root.data["indicators"] == ["deception", "debt"]
    assert root.data["meta/instanceID"] == "uuid:n1"
    assert (first.path, first.position, first.parent) == ("/data/route", 1, root)
    assert second.data == {"place": "Bangkok", "days": 10, "place_photo": None}


def test_unparseable_number_is_kept_as_text_not_lost():
    [root, *_] = normalise(parse(make_instance(age="thirty")), fields())
    assert root.data["age"] == "thirty"


def test_empty_element_is_none():
    [root, *_] = normalise(parse(make_instance(name="")), fields())
    assert root.data["full_name"] is None


def test_unknown_elements_are_kept():
    xml = make_instance().replace(b"<consent>", b"<new_question>42</new_question><consent>")
    [root, *_] = normalise(parse(xml), fields())
    assert root.data["new_question"] == "42"


def test_nest_rebuilds_the_document():
    rows = normalise(parse(make_instance()), fields())
    ids = {id(r): n for n, r in enumerate(rows, 1)}
    stored = [
        {
            "id": ids[id(r)],
            "parent_id": ids[id(r.parent)] if r.parent else None,
            "path": r.path,
            "position": r.position,
            "data": r.data,
        }
        for r in rows
    ]
    doc = nest(stored)
    assert doc["route"] == [
        {"place": "Vientiane", "days": 2, "place_photo": None},
        {"place": "Bangkok", "days": 10, "place_photo": None},
    ]


def test_text_is_kept_exactly_as_sent_and_numbers_are_stripped():
    xml = make_instance(name="  Noy  ", age=" 31 ")
    [root, *_] = normalise(parse(xml), fields())
    assert root.data["full_name"] == "  Noy  "
    assert root.data["age"] == 31


def test_repeated_unknown_leaves_are_all_kept_in_linear_time():
    import time

    count = 19_000
    xml = make_instance().replace(b"<consent>", b"<a>x</a>" * count + b"<consent>")
    start = time.perf_counter()
    [root, *_] = normalise(parse(xml), fields())
    seconds = time.perf_counter() - start
    assert root.data["a"] == ["x"] * count
    # Quadratic copying took minutes for this; linear work takes well under a second. The bound is loose.
    assert seconds < 20
