"""The JSON request log: one line per request with its id, route, status, duration and caller; no values."""

from __future__ import annotations

import io
import json
import logging

import pytest

from collector.ops import logs
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, post


def forget(handler) -> None:
    """Undo logs.configure, so that later tests of this process log as before."""
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)
    for name in logs.OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.fixture
def json_lines(app):
    """Capture what the server's log handler writes, as parsed JSON objects."""
    app.config["LOG_FORMAT"] = "json"
    logs.configure(app)
    root = logging.getLogger()
    [handler] = [h for h in root.handlers if getattr(h, "_collector_handler", False)]
    stream = handler.setStream(io.StringIO())
    buffer = handler.stream
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    forget(handler)
    handler.setStream(stream)


def test_each_request_logs_one_json_line_with_id_route_status_duration_and_device(client, device, json_lines):
    xml = make_instance("uuid:log-1", name="Khamla Secretname")
    response = post(client, device, xml, {"photo.jpg": JPEG}, environ_base={"HTTP_X_REQUEST_ID": "tablet-abc.123"})
    assert response.status_code == 201 and response.headers["X-Request-Id"] == "tablet-abc.123"
    [line] = [entry for entry in json_lines() if entry["logger"] == "collector.requests"]
    assert line["request_id"] == "tablet-abc.123"
    assert line["route"] == "/v1/key/<token>/projects/<int:project_id>/submission"
    assert line["method"] == "POST" and line["status"] == 201 and line["duration_ms"] >= 0
    assert line["device_id"] == device.id and line["user_id"] is None
    assert line["query"] == "?deviceID" and line["level"] == "INFO" and "time" in line
    text = json.dumps(json_lines())
    for secret in (device.token, "Khamla", "Secretname", "collect:abc123"):
        assert secret not in text


def test_a_request_id_that_is_not_a_plain_token_is_replaced(client, json_lines):
    response = client.get("/v1/projects", headers={"X-Request-Id": "x" * 65})
    chosen = response.headers["X-Request-Id"]
    assert len(chosen) == 32 and chosen != "x" * 65
    [line] = [entry for entry in json_lines() if entry["logger"] == "collector.requests"]
    assert line["request_id"] == chosen and line["status"] == 401


def test_a_user_is_logged_by_id_and_an_unmatched_path_by_its_shape(client, admin, db_session, json_lines):
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(":".join(admin).encode()).decode()}
    assert client.get("/v1/projects", headers=auth).status_code == 200
    assert client.get("/v1/key/SECRET-TOKEN-VALUE/nothing?name=Khamla").status_code == 404
    first, second = [entry for entry in json_lines() if entry["logger"] == "collector.requests"]
    assert isinstance(first["user_id"], int) and first["device_id"] is None
    assert second["route"] == "/*/*/*/*" and second["query"] == "??"
    assert "SECRET-TOKEN-VALUE" not in json.dumps(second) and "Khamla" not in json.dumps(second)


def test_text_format_is_there_for_a_terminal(app, client):
    app.config["LOG_FORMAT"] = "text"
    logs.configure(app)
    root = logging.getLogger()
    [handler] = [h for h in root.handlers if getattr(h, "_collector_handler", False)]
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    try:
        client.get("/v1/projects", headers={"X-Request-Id": "abc"})
    finally:
        forget(handler)
        handler.setStream(old)
    assert "[abc] request" in buffer.getvalue()


def test_libraries_log_from_warning_on_the_project_at_log_level(app):
    app.config["LOG_LEVEL"] = "DEBUG"
    logs.configure(app)
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_collector_handler", False)]
    try:
        assert logging.getLogger("ingest.persons").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("splink").isEnabledFor(logging.INFO)
    finally:
        forget(handler)
