"""The submissions JSON API: cursor paging, streamed full listing, filters on date, review state, province,
device and answers (`?q=`), typed by the field tree; hostile filters refused clearly (issue 9)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ADMIN_PASSWORD, make_instance
from tests.support.exports import _basic
from tests.support.openrosa import post
from tests.support.scope import basic

URL = "/v1/projects/1/forms/sample_case/submissions"


@pytest.fixture
def auth(admin):
    return _basic(admin[0], ADMIN_PASSWORD)


@pytest.fixture
def records(client, device, other_device):
    """Five records of province 01, ages 15..55, from one tablet, and one of province 05, age 70, from another."""
    for i, age in enumerate((15, 25, 35, 45, 55)):
        assert post(client, device, make_instance(f"uuid:q-{i}", age=str(age), name=f"Person {i}")).status_code == 201
    in_05 = make_instance("uuid:q-5", age="70").replace(b"<province>01<", b"<province>05<")
    assert post(client, other_device, in_05).status_code == 201
    return device, other_device


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [r["instanceId"] for r in response.get_json()]


def test_cursor_pages_walk_every_record_once(client, auth, records):
    seen, url, pages = [], f"{URL}?limit=2&q=age>=20", 0
    while url:
        response = client.get(url, headers=auth)
        seen += ids(response)
        pages += 1
        link = response.headers.get("Link")
        assert (link is None) == ("X-Next-Cursor" not in response.headers)
        url = link[1 : link.index(">")] if link else None
        if url:
            assert parse_qs(urlsplit(url).query)["q"] == ["age>=20"]  # the filters carry on
    assert seen == ["uuid:q-1", "uuid:q-2", "uuid:q-3", "uuid:q-4", "uuid:q-5"]
    assert pages == 3


def test_without_a_limit_every_record_is_streamed_as_central_lists_them(client, auth, records):
    response = client.get(URL, headers=auth)
    assert response.is_streamed
    assert ids(response) == [f"uuid:q-{i}" for i in range(6)]
    assert "Link" not in response.headers


def test_answer_filters_are_typed_by_the_field_tree(client, auth, records):
    assert ids(client.get(f"{URL}?q=age:25", headers=auth)) == ["uuid:q-1"]
    assert ids(client.get(f"{URL}?q=age>30&q=age<=55", headers=auth)) == ["uuid:q-2", "uuid:q-3", "uuid:q-4"]
    assert ids(client.get(f"{URL}?q=indicators:debt&q=age<20", headers=auth)) == ["uuid:q-0"]
    assert ids(client.get(f"{URL}?q=indicators:forced_labour", headers=auth)) == []
    assert ids(client.get(f"{URL}?q=full_name~Person 3", headers=auth)) == ["uuid:q-3"]
    assert ids(client.get(f"{URL}?q=place:Bangkok&q=age:15", headers=auth)) == ["uuid:q-0"]  # inside a repeat
    assert ids(client.get(f"{URL}?q=days>5&limit=1", headers=auth)) == ["uuid:q-0"]


def test_system_filters(client, auth, records, db_session):
    device01, device05 = records
    assert ids(client.get(f"{URL}?province=05", headers=auth)) == ["uuid:q-5"]
    assert ids(client.get(f"{URL}?device={device05.id}", headers=auth)) == ["uuid:q-5"]
    assert client.patch(f"{URL}/uuid:q-2", json={"reviewState": "approved"}, headers=auth).status_code == 200
    assert ids(client.get(f"{URL}?reviewState=approved", headers=auth)) == ["uuid:q-2"]
    assert len(ids(client.get(f"{URL}?reviewState=received", headers=auth))) == 5
    assert ids(client.get(f"{URL}?start=2000-01-01&end=2001-01-01", headers=auth)) == []
    assert len(ids(client.get(f"{URL}?start=2000-01-01", headers=auth))) == 6


@pytest.mark.parametrize(
    "query, status, words",
    [
        ("q=nope:1", 422, "'nope'"),
        ("q=age:twelve", 400, "whole numbers"),
        ("q=age", 400, "field:value"),
        ("q=:1", 400, "field:value"),
        ("q=age:1' OR '1'='1", 400, "whole numbers"),
        ("q=full_name:x' OR 1=1 --", 200, None),
        ("q=full_name~%", 200, None),
        ("q=age>=%00", 400, "NUL"),
        ("limit=0", 400, "limit"),
        ("limit=1001", 400, "limit"),
        ("limit=٣", 400, "limit"),
        ("cursor=abc", 400, "cursor"),
        ("cursor=99999999999999999999", 400, "cursor"),
        ("device=x", 400, "device"),
        ("reviewState=done", 400, "reviewState"),
        ("start=yesterday", 400, "ISO 8601"),
    ],
)
def test_hostile_filters_get_clear_errors(client, auth, records, query, status, words):
    response = client.get(f"{URL}?{query}", headers=auth)
    assert response.status_code == status, response.get_json()
    if words:
        assert words in response.get_json()["error"]
    else:
        assert response.get_json() == []


def test_an_analyst_may_not_filter_on_a_sensitive_field(client, records, users):
    response = client.get(f"{URL}?q=full_name:Person 1", headers=basic("analyst@example.la"))
    assert response.status_code == 403 and "sensitive" in response.get_json()["error"]
    assert len(ids(client.get(f"{URL}?q=age>0", headers=basic("analyst@example.la")))) == 6


def test_filters_never_widen_the_scope(client, records, users):
    officer = basic("officer05@example.la")
    assert ids(client.get(f"{URL}?q=age>0", headers=officer)) == ["uuid:q-5"]
    assert ids(client.get(f"{URL}?province=01", headers=officer)) == []
    assert ids(client.get(f"{URL}?limit=1", headers=officer)) == ["uuid:q-5"]


def test_free_text_searches_typed_answers_and_never_a_sensitive_one_for_an_analyst(client, auth, records, users):
    assert ids(client.get(f"{URL}?text=person 3", headers=auth)) == ["uuid:q-3"]  # letter case aside
    assert ids(client.get(f"{URL}?text=bangkok", headers=auth)) == [f"uuid:q-{i}" for i in range(6)]  # in a repeat
    assert ids(client.get(f"{URL}?text=_", headers=auth)) == []  # a LIKE wildcard is only a character
    # The names are sensitive: an analyst's search does not look into them (the matches would tell them).
    assert ids(client.get(f"{URL}?text=person 3", headers=basic("analyst@example.la"))) == []
    assert len(ids(client.get(f"{URL}?text=vientiane", headers=basic("analyst@example.la")))) == 6


def test_a_district_filter_on_a_form_that_asks_none_keeps_no_record(client, auth, records):
    assert ids(client.get(f"{URL}?district=0101", headers=auth)) == []
