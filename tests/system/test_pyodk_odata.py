"""pyodk's OData reads (`submissions.get_table`) driven unchanged against this server over HTTP: a filter on an
answer (which ODK Central cannot do), the repeat entity set, and `expand='*'`."""

from __future__ import annotations

import pytest

from tests.conftest import make_instance


@pytest.fixture
def client(pyodk_client):
    """pyodk's client on a live server (tests/system/conftest.py)."""
    return pyodk_client


def _send(live_client, *records) -> list[str]:
    sent = []
    for key, name, age, places in records:
        instance_id = f"uuid:odata-{key}"
        assert (
            live_client.live.tablet.submit(make_instance(instance_id, name=name, age=age, places=places)).status_code
            == 201
        )
        sent.append(instance_id)
    return sent


def test_pyodk_get_table_filters_on_an_answer(client):
    one, two, three = _send(
        client,
        ("1", "Noy", "30", (("Vientiane", "2"),)),
        ("2", "Somchai", "41", (("Pakse", "3"),)),
        ("3", "Noy", "17", (("Bangkok", "10"),)),
    )
    table = client.submissions.get_table(form_id="sample_case", filter="full_name eq 'Noy'", count=True)
    assert [r["__id"] for r in table["value"]] == [one, three] and table["@odata.count"] == 2
    assert [r["age"] for r in table["value"]] == [30, 17]
    table = client.submissions.get_table(form_id="sample_case", filter="age ge 18 and contains(full_name,'o')")
    assert [r["__id"] for r in table["value"]] == [one, two]
    table = client.submissions.get_table(form_id="sample_case", filter="indicators eq 'debt'", top=1)
    assert [r["__id"] for r in table["value"]] == [one] and "%24skiptoken=01" in table["@odata.nextLink"]
    places = client.submissions.get_table(form_id="sample_case", table_name="Submissions.route", filter="days gt 2")
    assert [(p["place"], p["__Submissions-id"]) for p in places["value"]] == [("Pakse", two), ("Bangkok", three)]


def test_pyodk_get_table_expands_repeats(client):
    [one] = _send(client, ("x", "Noy", "30", (("Vientiane", "2"), ("Bangkok", "10"))))
    table = client.submissions.get_table(form_id="sample_case", expand="*")
    [record] = table["value"]
    assert record["__id"] == one and record["__system"]["formVersion"] == "2026112901"
    assert [(p["place"], p["days"]) for p in record["route"]] == [("Vientiane", 2), ("Bangkok", 10)]
    assert record["route@odata.navigationLink"] == "Submissions('uuid%3Aodata-x')/route"
