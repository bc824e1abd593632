"""No victim's name, phone or device token reaches gunicorn's access or error log, or the app's log lines,
whatever route or malformed request carries it (issue 16, item 4).

Canary values travel through a real gunicorn (at log level debug) in submissions, OData filters and keys,
JSON reads and case searches, console paths, exports, junk paths, headers and request lines that gunicorn
refuses; then every log the server wrote is scanned for them.
"""

from __future__ import annotations

import socket
import time
import uuid
from urllib.parse import quote

import pytest
import requests

from tests.conftest import make_instance
from tests.support.collect import Collect
from tests.support.live import LiveServer

NAME, OTHER, PHONE = "Canaryfive", "Khamlacanary", "+8562012345678"
LAO = "ສົມພອນແຄນາຣີ"
CANARIES = [NAME, OTHER, PHONE, "2012345678", LAO, quote(LAO), quote(LAO).lower()]
STAFF = ("staff@example.la", "staff password 123")
FORM = "/v1/projects/1/forms/sample_case"
FILTER = f"contains(full_name,'{NAME}') or full_name eq '{PHONE}' or full_name eq '{OTHER}' or full_name eq '{LAO}'"


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance", workers=1)
    server.env["GUNICORN_CMD_ARGS"] = "--log-level debug"
    server.env["COLLECTOR_LOG_LEVEL"] = "DEBUG"  # and the app's JSON lines, one per request, at their most
    server.start()
    yield server
    server.stop()


def raw(server: LiveServer, data: bytes) -> bytes:
    """Send bytes on a fresh connection; return what comes back before the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_canary_names_phones_and_tokens_reach_no_log(live):
    live.cli("forms", "publish", "tests/data/sample_case.xlsx")
    base = live.device_url(live.cli("devices", "create", "Canary tablet").stdout)
    token = base.split("/key/", 1)[1].split("/", 1)[0]
    live.cli("users", "create", STAFF[0], "--role", "admin", COLLECTOR_PASSWORD=STAFF[1])
    secrets = [*CANARIES, token]

    # OpenRosa: a record naming the person, with the name in the device ID too.
    tablet = Collect(base, device_id=f"collect:{NAME}")
    instance_id = f"uuid:{uuid.uuid4()}"
    assert tablet.submit(make_instance(instance_id, name=f"{NAME} {OTHER} {LAO}")).status_code == 201
    assert requests.get(f"{base}/formList?deviceID={NAME}&q={PHONE}", timeout=10).status_code == 200

    def get(path, **kwargs):
        return requests.get(f"{live.url}{path}", auth=STAFF, timeout=30, **kwargs)

    # JSON reads and searches; OData filters and keys; exports with filters; console paths and searches.
    assert NAME in get(f"{FORM}/submissions").text  # the values did travel through the app
    assert NAME in get(f"{FORM}.svc/Submissions?$filter={quote(FILTER)}").text
    reads = [
        f"{FORM}/submissions?q={NAME}&full_name={PHONE}",
        f"{FORM}/submissions/{NAME}",
        f"/v1/projects/1/cases?q={NAME}&name={OTHER}&province={PHONE}",
        f"/v1/projects/1/stats?by={NAME}",
        f"/v1/audits?q={NAME}",
        f"{FORM}.svc/Submissions?$filter={quote(FILTER)}&$top=5",
        f"{FORM}.svc/Submissions?$filter={FILTER}",
        f"{FORM}.svc/Submissions('{NAME}')",
        f"{FORM}.svc/Submissions('{instance_id}')?{NAME}={PHONE}",
        f"{FORM}/submissions.csv.zip?$filter={quote(FILTER)}",
        f"{FORM}/submissions.xlsx?$filter={quote(FILTER)}",
        f"{FORM}/submissions.geojson?q={NAME}",
        f"/console/cases?q={NAME}&phone={PHONE}",
        f"/console/search/{NAME}/{quote(LAO)}",
        f"/{token}",
        f"/v1/projects/{token}/forms",
        f"/v1/x/{token}/key",
        f"/junk?k={token}",
        f"/v1/{quote(LAO)}/{PHONE}",
    ]
    for path in reads:
        response = get(path, headers={"Referer": f"{live.url}/console/cases?q={NAME}", "User-Agent": f"probe {NAME}"})
        assert response.status_code < 500, (path, response.status_code)
    for email in (f"{NAME}@example.la", STAFF[0]):
        requests.post(f"{live.url}/v1/sessions", json={"email": email, "password": PHONE}, timeout=10)

    # Malformed requests that gunicorn refuses itself, quoting what it could not parse.
    for line in [
        f"GET /v1/projects?$filter=contains(x,'{NAME}') or y eq '{OTHER}' HTTP/1.1",
        f"GET /{NAME}/{token} HTTP/9.9",
        f"{NAME} /x HTTP/1.1",
        f"GET /x?{PHONE} HTTP/1.1 {NAME}",
        f"GET /v1/key/{token}/projects/1/formList",
        f"GET /{quote(LAO)} HTTP/1.1\r\nX-Name: {NAME}\x01",
        f"GET / HTTP/1.1\r\n{NAME} {PHONE}: x",
        f"GET / HTTP/1.1\r\nContent-Length: {PHONE}",
        f"GET /{NAME}?{'x' * 9000} HTTP/1.1",
    ]:
        answer = raw(live, line.encode() + b"\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 4"), (line[:60], answer[:80])
    raw(live, f"GET /{NAME}".encode())  # a client that goes away mid-line

    time.sleep(1)
    logs = {path.name: path.read_text(errors="replace") for path in (live.log, live.log.parent / "access.log")}
    leaks = [
        (secret, line)
        for name, text in logs.items()
        for line in text.splitlines()
        for secret in secrets
        if secret in line
    ]
    assert len(leaks) == 0, leaks[:20]
    assert ".svc/<path:resource>?$filter&$top" in logs["access.log"]
    assert "Invalid request from ip=127.0.0.1" in logs["gunicorn.log"]  # the refusals were logged, redacted
