"""A database that cannot be reached answers 503 with Retry-After on every route, never 500 (issue 16 item 7).

The real thing, backends terminated under gunicorn while tablets submit, is in tests/system/test_database_loss.py.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import exc as sa_exc

from forms.lao import strip_marks
from ingest.models import Submission
from tests.conftest import make_instance
from tests.support.console import TRAINER, console_sign_in
from tests.support.openrosa import base, count, post

LOST = [
    sa_exc.OperationalError(
        "SELECT secret",
        {"name": "secret victim name"},
        Exception("terminating connection due to administrator command"),
    ),
    sa_exc.InterfaceError("SELECT secret", {}, Exception("connection already closed")),
    sa_exc.TimeoutError("QueuePool limit of size 16 overflow 4 reached"),
]


@pytest.mark.parametrize("error", LOST, ids=lambda e: type(e).__name__)
def test_a_lost_database_on_the_json_api_is_503_with_retry_after(client, admin, monkeypatch, caplog, error):
    import collector.api.projects

    def lost(*_a, **_k):
        raise error

    monkeypatch.setattr(collector.api.projects, "get_project", lost)
    with caplog.at_level(logging.WARNING):
        response = client.get("/v1/projects/1", auth=admin)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    message = "The database is unavailable for a moment; nothing was stored. Please try again."
    assert response.get_json() == {
        "ok": False,
        "status": 503,
        "code": 503.1,
        "errors": [],
        "fields": {},
        "error": message,
        "message": message,
    }
    assert b"secret" not in response.data and "secret" not in caplog.text
    assert f"database unavailable ({type(error).__name__}) on GET /v1/projects/<int:project_id>" in caplog.text


def test_a_lost_database_during_a_submission_is_503_in_openrosa_xml_and_the_retry_stores_it(
    client, device, published_form, db_session, monkeypatch
):
    import collector.formats

    stored = collector.formats.receive_submission

    def lost(*_a, **_k):
        raise LOST[0]

    monkeypatch.setattr(collector.formats, "receive_submission", lost)
    xml = make_instance("uuid:lost-connection")
    response = post(client, device, xml)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.headers["X-OpenRosa-Version"] == "1.0" and response.mimetype == "text/xml"
    assert response.data.startswith(
        b'<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
        b'<message nature="error">The database is unavailable for a moment'
    )
    monkeypatch.setattr(collector.formats, "receive_submission", stored)
    assert post(client, device, xml).status_code == 201
    assert count(db_session, Submission) == 1


def test_a_lost_database_on_form_list_is_503_in_openrosa_xml(client, device, published_form, monkeypatch):
    import collector.openrosa

    def lost(*_a, **_k):
        raise LOST[2]

    monkeypatch.setattr(collector.openrosa, "current_version", lost)
    response = client.get(f"{base(device)}/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert b"<OpenRosaResponse" in response.data and response.headers["X-OpenRosa-Version"] == "1.0"


def test_a_lost_database_on_a_console_page_is_a_503_page(client, published_form, monkeypatch, staff):
    import collector.console.views.forms

    assert console_sign_in(client, TRAINER).status_code == 302

    def lost(*_a, **_k):
        raise LOST[0]

    monkeypatch.setattr(collector.console.views.forms, "_form_row", lost)
    response = client.get("/console/projects/1/forms")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    html = strip_marks(response.get_data(as_text=True))  # without the Lao word-break marks
    assert response.mimetype == "text/html"
    assert "The database is unavailable for a moment" in html or "ຖານຂໍ້ມູນບໍ່ພ້ອມໃຊ້ງານຊົ່ວຄາວ" in html


def test_a_connection_lost_after_the_answer_was_made_keeps_the_answer(client, device, published_form, monkeypatch):
    # PostgreSQL stopped between the view's last query and the request's end: rolling back the request's read
    # transaction fails. That used to escape the error handlers, and gunicorn answered 500 instead of the 204.
    from sqlalchemy.orm import Session

    def lost(_session):
        raise LOST[0]

    monkeypatch.setattr(Session, "rollback", lost)
    response = client.head(f"{base(device)}/submission", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 204
