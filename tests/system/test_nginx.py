"""deploy/nginx.conf in front of gunicorn, for real: TLS, the redirect from http, the body limit, and body
buffering, which keeps tablets on slow links (or clients dribbling bytes on purpose) off gunicorn's threads.

The upstream and server blocks of deploy/nginx.conf are used as written; only what names this machine changes
(ports, certificate and temporary paths, the upstream's host), wrapped in a minimal main configuration
(tests/support/nginx.py).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid

import pytest
import requests

from tests.conftest import make_instance
from tests.support.collect import Collect
from tests.support.live import ROOT, LiveServer, free_port
from tests.support.nginx import render, self_signed, start_nginx


@pytest.fixture
def proxied(clean_db, tmp_path):
    """gunicorn with ONE thread (body deadline far off), and nginx in front of it with deploy/nginx.conf."""
    http_port, https_port = free_port(), free_port()
    public = f"https://127.0.0.1:{https_port}"
    live = LiveServer(
        clean_db,
        tmp_path / "instance",
        workers=1,
        THREADS=1,
        BODY_TIMEOUT=600,
        TRUSTED_PROXIES="127.0.0.1,::1",
        PUBLIC_URL=public,
        HEADER_TIMEOUT=600,
    ).start()
    folder = tmp_path / "nginx"
    folder.mkdir()
    live.cert, key = self_signed(folder)
    (folder / "nginx.conf").write_text(render(folder, http_port, https_port, live.port, live.cert, key))
    nginx = start_nginx(folder, https_port)
    live.public, live.https_port, live.http_port, live.nginx_folder = public, https_port, http_port, folder
    live.tablet_url = live.device_url(_device(live))
    yield live
    nginx.terminate()
    nginx.wait(timeout=15)
    live.stop()


def tablet_of(live) -> Collect:
    """The ODK Collect emulator on the https address, trusting the test's own certificate (and only it)."""
    tablet = Collect(live.tablet_url)
    tablet.http.trust_env = False  # else a CA bundle named in the environment would replace it
    tablet.http.verify = live.cert
    return tablet


def _device(live) -> str:
    live.cli("forms", "publish", str(ROOT / "tests" / "data" / "sample_case.xlsx"))
    return live.cli("devices", "create", "Tablet behind nginx").stdout


def test_collect_works_through_nginx_over_tls_and_plain_http_is_redirected(proxied):
    assert proxied.tablet_url.startswith(proxied.public)  # the QR code names the https address
    tablet = tablet_of(proxied)
    assert tablet.form_list().status_code == 200
    response = tablet.submit(make_instance(f"uuid:{uuid.uuid4()}"))
    assert response.status_code == 201, response.text
    plain = requests.get(f"http://127.0.0.1:{proxied.http_port}/v1/projects", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")


def test_scripts_and_styles_are_compressed_and_pages_with_tokens_never_are(proxied):
    gzip = {"Accept-Encoding": "gzip"}
    style = requests.get(f"{proxied.public}/console/static/console.css", headers=gzip, verify=proxied.cert, timeout=10)
    assert style.status_code == 200 and style.headers.get("Content-Encoding") == "gzip"
    assert b"{" in style.content  # requests undid the compression
    # The sign-in page carries a CSRF token: never compressed (BREACH).
    page = requests.get(f"{proxied.public}/console/login", headers=gzip, verify=proxied.cert, timeout=10)
    assert page.status_code == 200 and "Content-Encoding" not in page.headers


def test_a_staff_password_is_accepted_over_tls_through_the_proxy(proxied):
    # The server refuses passwords over plain http; behind nginx it must see https (X-Forwarded-Proto).
    proxied.cli("users", "create", "staff@example.la", "--role", "admin", COLLECTOR_PASSWORD="a long enough password")
    response = requests.get(
        f"{proxied.public}/v1/projects",
        auth=("staff@example.la", "a long enough password"),
        verify=proxied.cert,
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_a_body_over_the_limit_is_refused_by_nginx_before_it_is_sent(proxied):
    context = ssl.create_default_context(cafile=proxied.cert)
    with (
        socket.create_connection(("127.0.0.1", proxied.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(
            f"POST {proxied.tablet_url.split(str(proxied.https_port), 1)[1]}/submission HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {120 * 1024 * 1024}\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_slow_uploads_wait_in_nginx_and_never_hold_the_only_gunicorn_thread(proxied):
    path = proxied.tablet_url.split(str(proxied.https_port), 1)[1] + "/submission"
    boundary = uuid.uuid4().hex
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    stop = threading.Event()
    context = ssl.create_default_context(cafile=proxied.cert)

    def dribble():
        with (
            socket.create_connection(("127.0.0.1", proxied.https_port), timeout=120) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
        ):
            sock.sendall(head + f"--{boundary}\r\n".encode())
            while not stop.wait(1):  # a byte a second: far slower than any real tablet
                sock.sendall(b"x")

    dribblers = [threading.Thread(target=dribble, daemon=True) for _ in range(4)]
    for thread in dribblers:
        thread.start()
    time.sleep(2)
    try:
        # gunicorn has one thread and would wait 600 s for a slow body: only buffering lets this through.
        response = tablet_of(proxied).submit(make_instance(f"uuid:{uuid.uuid4()}"))  # waits up to 60 s
        assert response.status_code == 201, response.text
    finally:
        stop.set()
    for thread in dribblers:
        thread.join(timeout=10)
    # Nothing of a device token in nginx's own logs either: no access log, and the server's error log keeps
    # only critical messages. (At nginx's default level this very flow wrote "client prematurely closed
    # connection ... request: "POST /v1/key/<token>/..."" for each slow upload: that is how the leak was found.)
    token = proxied.tablet_url.split("/v1/key/", 1)[1].split("/", 1)[0]
    logs = "".join(p.read_text() for p in proxied.nginx_folder.glob("*.log"))
    assert token not in logs


def test_sign_in_and_submission_floods_are_refused_by_nginx_with_429(proxied):
    def signin():
        return requests.post(
            f"{proxied.public}/v1/sessions",
            json={"email": f"{uuid.uuid4().hex}@example.la", "password": "not the password"},
            verify=proxied.cert,
            timeout=10,
        )

    # Five at once (burst), then ten a minute; the app's own limit (SIGNIN_MAX_FAILURES, 10) is not reached.
    answers = [signin() for _ in range(8)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(b"nginx" in a.content for a in refused), [a.status_code for a in answers]
    tablet = tablet_of(proxied)
    submitted = [tablet.submit(make_instance(f"uuid:{uuid.uuid4()}")).status_code for _ in range(30)]
    assert submitted[:20] == [201] * 20 and 429 in submitted, submitted


def test_more_connections_than_the_limit_from_one_address_are_refused(proxied):
    context = ssl.create_default_context(cafile=proxied.cert)
    path = proxied.tablet_url.split(str(proxied.https_port), 1)[1] + "/submission"
    held = []
    try:
        for _ in range(45):  # headers in, body still coming: each counts against limit_conn (40)
            sock = context.wrap_socket(
                socket.create_connection(("127.0.0.1", proxied.https_port), timeout=10), server_hostname="127.0.0.1"
            )
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                "boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n".encode()
            )
            held.append(sock)
        time.sleep(1)
        refused = 0
        for sock in held:
            sock.settimeout(0.2)
            try:
                refused += sock.recv(4096).startswith(b"HTTP/1.1 429")
            except (TimeoutError, ssl.SSLError, OSError):
                pass
        assert refused >= 5
    finally:
        for sock in held:
            sock.close()
