"""Sign-in under gunicorn: forwarded headers from a peer that is no trusted proxy, the owner signing in through
a lock-out attempt (API, Basic auth, console), and the failure limit under parallel clients."""

from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from ingest.db import make_engine
from ingest.models import AuditEvent
from tests.support.live import LiveServer

STAFF = ("owner@example.la", "correct horse battery")
WRONG = "Wr0ng-Horse-Battery-Staple-7781"


def lan_address() -> str:
    """Return this machine's own non-loopback address (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return ""
        address = sock.getsockname()[0]
    return "" if address.startswith("127.") else address


def start(clean_db, tmp_path, **settings) -> LiveServer:
    live = LiveServer(clean_db, tmp_path / "instance", workers=2, **settings)
    live.start()
    live.cli("users", "create", STAFF[0], "--role", "admin", COLLECTOR_PASSWORD=STAFF[1])
    return live


@pytest.fixture
def lan(clean_db, tmp_path):
    """gunicorn on every address with the default settings (the README's LAN quick start), and its LAN URL."""
    address = lan_address()
    if not address:
        pytest.skip("this machine has no non-loopback IPv4 address to be a LAN peer from")
    live = LiveServer(clean_db, tmp_path / "instance", workers=2)
    live.env["COLLECTOR_BIND"] = f"0.0.0.0:{live.port}"
    live.url = f"http://{address}:{live.port}"
    live.start()
    live.cli("users", "create", STAFF[0], "--role", "admin", COLLECTOR_PASSWORD=STAFF[1])
    live.address = address
    yield live
    live.stop()


@pytest.fixture
def live(clean_db, tmp_path):
    """gunicorn behind (pretend) nginx on loopback, as deployed."""
    server = start(clean_db, tmp_path, TRUSTED_PROXIES="127.0.0.1,::1")
    yield server
    server.stop()


def post_session(url, email, password, http=requests, **kwargs):
    return http.post(f"{url}/v1/sessions", json={"email": email, "password": password}, timeout=30, **kwargs)


def test_forwarded_headers_from_a_peer_that_is_not_a_proxy_are_ignored(lan):
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    response = post_session(lan.url, *STAFF, headers=forged)
    assert response.status_code == 403 and "https" in response.json()["error"]
    assert "Strict-Transport-Security" not in response.headers
    # Rotating the claimed address buys no extra guesses: the limit counts the real peer.
    statuses = [
        post_session(
            lan.url,
            f"guess{n}@example.la",
            WRONG,
            headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"},
        ).status_code
        for n in range(12)
    ]
    assert statuses == [403] * 12  # plain http from the LAN: no password is even checked


def test_rotating_forwarded_for_from_a_non_proxy_peer_is_limited_and_audited_as_the_peer(clean_db, tmp_path):
    # Loopback may send passwords over http, so the limit is reached; 127.0.0.1 is no trusted proxy here.
    live = start(clean_db, tmp_path, TRUSTED_PROXIES="10.255.255.1")
    try:
        statuses = [
            post_session(
                live.url, f"guess{n}@example.la", WRONG, headers={"X-Forwarded-For": f"203.0.113.{n}"}
            ).status_code
            for n in range(12)
        ]
        assert statuses == [401] * 10 + [429] * 2
        engine = make_engine(clean_db)
        try:
            with engine.connect() as conn:
                addresses = list(conn.scalars(select(AuditEvent.address).where(AuditEvent.action == "session.failed")))
        finally:
            engine.dispose()
        assert addresses == ["127.0.0.1"] * 10
    finally:
        live.stop()


def test_forwarded_headers_of_the_trusted_proxy_still_count(live):
    response = post_session(live.url, *STAFF, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def console_sign_in(url, http, email, password):
    page = http.get(f"{url}/console/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return http.post(
        f"{url}/console/login",
        data={"csrf_token": token, "email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )


def test_owner_signs_in_through_a_lock_out_attempt_on_api_basic_auth_and_console(live):
    api, basic, browser = requests.Session(), requests.Session(), requests.Session()
    # Each of the owner's clients has signed in before.
    assert post_session(live.url, *STAFF, http=api).status_code == 200
    assert basic.get(f"{live.url}/v1/projects", auth=STAFF, timeout=30).status_code == 200
    assert console_sign_in(live.url, browser, *STAFF).status_code == 302
    # Someone else tries 14 passwords for the account.
    attacker = [post_session(live.url, STAFF[0], f"{WRONG}{n}").status_code for n in range(14)]
    assert attacker[:10] == [401] * 10 and 429 in attacker[10:]
    assert post_session(live.url, *STAFF).status_code == 429  # a client never seen before must wait
    # The owner is not locked out.
    assert post_session(live.url, *STAFF, http=api).status_code == 200
    assert basic.get(f"{live.url}/v1/projects", auth=STAFF, timeout=30).status_code == 200
    for cookie in [c for c in browser.cookies if c.name == "session"]:  # the console session ended; the
        browser.cookies.clear(cookie.domain, cookie.path, cookie.name)  # known-device cookie stays
    assert console_sign_in(live.url, browser, *STAFF).status_code == 302
    assert browser.get(f"{live.url}/console/", timeout=30).status_code == 200
    # A known browser is still limited on its own failures.
    own = [post_session(live.url, STAFF[0], WRONG, http=api).status_code for _ in range(11)]
    assert own == [401] * 10 + [429]


def test_sixteen_parallel_clients_get_exactly_the_limit_of_failures(live):
    def attempts(_n):
        return [post_session(live.url, STAFF[0], WRONG).status_code for _ in range(3)]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for batch in pool.map(attempts, range(16)) for s in batch]
    assert statuses.count(401) == 10
    assert statuses.count(429) == 38


def test_console_cookie_is_no_bearer_token(live):
    browser = requests.Session()
    assert console_sign_in(live.url, browser, *STAFF).status_code == 302
    cookie = browser.cookies.get("session", path="/console")
    assert cookie
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import URLSafeTimedSerializer

    key = (live.log.parent / "secret_key").read_text().strip()
    interface = SecureCookieSessionInterface()
    data = URLSafeTimedSerializer(
        key,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": interface.digest_method},
    ).loads(cookie)
    ids = [str(v) for v in data.values()]
    for value in ids:
        response = requests.get(
            f"{live.url}/v1/users/current", headers={"Authorization": f"Bearer {value}"}, timeout=30
        )
        assert response.status_code == 401
