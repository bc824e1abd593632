"""Sign-in: the rate limit before hashing, passwords over https only, disabled users, security headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from collector import create_app
from ingest.accounts.signin import account_key
from ingest.accounts.users import set_disabled
from ingest.db import utcnow
from ingest.models import AuditEvent, SignInLimit, User
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.openrosa import base, openrosa_message

REMOTE = {"REMOTE_ADDR": "10.0.0.5"}


def sign_in(client, email=ADMIN_EMAIL, password="wrong password", **kwargs):
    return client.post("/v1/sessions", json={"email": email, "password": password}, **kwargs)


def fail_ten_times(client, email=ADMIN_EMAIL, **kwargs):
    for _ in range(10):
        assert sign_in(client, email, **kwargs).status_code == 401


@pytest.fixture
def verify_calls(monkeypatch):
    """Count every argon2 verification (each one costs the server a hash)."""
    calls = []
    real = PasswordHasher.verify

    def spy(self, hash, password):  # noqa: A002 (argon2's own parameter name)
        calls.append(1)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def test_ten_wrong_passwords_then_429_with_retry_after_even_for_the_right_one(client, admin):
    # From ten addresses, so that only the account's limit is reached.
    for n in range(10):
        response = sign_in(client, base_url="https://collect.test", environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})
        assert response.status_code == 401
    response = sign_in(client, password=ADMIN_PASSWORD)
    assert response.status_code == 429  # a client that never signed in before waits the first delay
    assert 25 <= int(response.headers["Retry-After"]) <= 30
    assert response.get_json()["status"] == 429 and "Too many failed sign-ins" in response.get_json()["error"]
    # Basic auth shares the limit, and answers Collect's paths in OpenRosa XML.
    response = client.get("/v1/projects/1/formList", auth=admin)
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert "Too many failed sign-ins" in openrosa_message(response)
    # The limit is per account: another account from the same address is still checked.
    assert sign_in(client, "other@example.la").status_code == 401


def test_no_argon2_hash_is_computed_once_limited(client, admin, verify_calls):
    fail_ten_times(client)
    assert len(verify_calls) == 10
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 429
    assert client.get("/v1/projects", auth=admin).status_code == 429
    assert len(verify_calls) == 10


def test_limit_per_address_across_different_emails(client, admin, verify_calls):
    https = {"base_url": "https://collect.test", "environ_base": REMOTE}
    for n in range(10):
        assert sign_in(client, f"guess{n}@example.la", **https).status_code == 401
    assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD, **https).status_code == 429
    assert client.get("/v1/projects", auth=admin, **https).status_code == 429
    assert len(verify_calls) == 10
    # Another address is not held back by the guesser.
    other = {"base_url": "https://collect.test", "environ_base": {"REMOTE_ADDR": "10.0.0.6"}}
    assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD, **other).status_code == 200


def test_failures_then_refusal_are_audited_without_the_email(client, admin, db_session):
    fail_ten_times(client, "victim.name@example.la")
    assert sign_in(client, "victim.name@example.la").status_code == 429
    events = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["session.failed"] * 10 + ["session.limited"]
    resource = f"account:{account_key('Victim.Name@example.la')[:16]}"
    assert {e.resource for e in events} == {resource}
    assert {e.address for e in events} == {"127.0.0.1"}
    assert events[-1].details["retryAfter"] == 30
    assert not any("victim" in f"{e.resource}{e.details}" or "wrong" in f"{e.details}" for e in events)
    counts = {row.key: row.failures for row in db_session.scalars(select(SignInLimit))}
    assert counts == {f"account:{account_key('victim.name@example.la')}": 10, "address:127.0.0.1": 10}


def test_basic_auth_failures_count_and_are_audited_but_successes_are_not(client, admin, db_session):
    assert client.get("/v1/projects", auth=admin).status_code == 200
    assert client.get("/v1/projects", auth=(ADMIN_EMAIL, "nope")).status_code == 401
    assert [e.action for e in db_session.scalars(select(AuditEvent))] == ["session.failed"]
    # A POST /v1/sessions sign-in is audited with the user and the address.
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 200
    db_session.rollback()  # end the snapshot the first read took (SQLite)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "session.create"))
    assert (event.user_id, event.address) == (db_session.scalar(select(User.id)), "127.0.0.1")


def test_each_failure_past_the_limit_doubles_the_wait_instead_of_a_fixed_lock(client, admin, db_session):
    now = utcnow()
    db_session.add(
        SignInLimit(
            key=f"account:{account_key(ADMIN_EMAIL)}",
            failures=11,
            last_at=now - timedelta(minutes=2),
            blocked_until=now - timedelta(seconds=1),
        )
    )
    db_session.commit()
    assert sign_in(client).status_code == 401  # the wait is over: one more guess, then twice as long
    response = sign_in(client, password=ADMIN_PASSWORD)
    assert response.status_code == 429 and 115 <= int(response.headers["Retry-After"]) <= 120
    db_session.execute(SignInLimit.__table__.update().values(failures=40, blocked_until=now - timedelta(seconds=1)))
    db_session.commit()
    assert sign_in(client).status_code == 401
    response = sign_in(client, password=ADMIN_PASSWORD)
    assert response.status_code == 429 and 895 <= int(response.headers["Retry-After"]) <= 900  # at most 15 minutes


def test_old_failures_do_not_count_and_are_purged(client, admin, db_session):
    db_session.add(
        SignInLimit(
            key=f"account:{account_key(ADMIN_EMAIL)}",
            failures=10,
            last_at=utcnow() - timedelta(minutes=61),
            blocked_until=utcnow() + timedelta(minutes=5),
        )
    )
    db_session.add(SignInLimit(key="address:10.7.7.7", failures=3, last_at=utcnow() - timedelta(minutes=61)))
    db_session.commit()
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 200
    assert sign_in(client, "someone@example.la").status_code == 401
    db_session.rollback()
    assert {row.key: row.failures for row in db_session.scalars(select(SignInLimit))} == {
        f"account:{account_key('someone@example.la')}": 1,
        "address:127.0.0.1": 1,
    }


def test_a_known_device_signs_in_past_failures_from_elsewhere_but_is_limited_on_its_own(client, admin, app):
    https = {"base_url": "https://collect.test"}
    assert sign_in(client, password=ADMIN_PASSWORD, **https).status_code == 200
    cookie = client.get_cookie(f"collector_device_{account_key(ADMIN_EMAIL)[:16]}", domain="collect.test")
    assert cookie and cookie.http_only and cookie.secure and cookie.same_site == "Lax"
    stranger = app.test_client()
    for n in range(12):
        sign_in(stranger, **https, environ_base={"REMOTE_ADDR": f"10.2.0.{n}"})
    assert sign_in(stranger, password=ADMIN_PASSWORD, **https).status_code == 429
    assert sign_in(client, password=ADMIN_PASSWORD, **https).status_code == 200
    # A forged or another account's cookie is no known device.
    stranger.set_cookie(cookie.key, cookie.value[:-2] + "xx", domain="collect.test")
    assert sign_in(stranger, password=ADMIN_PASSWORD, **https).status_code == 429
    fail_ten_times(client, **https)
    assert sign_in(client, password=ADMIN_PASSWORD, **https).status_code == 429


def test_limit_and_window_are_settings(app, client, admin):
    app.config.update(SIGNIN_MAX_FAILURES=2, SIGNIN_WINDOW_MINUTES=1)
    assert sign_in(client).status_code == 401
    assert sign_in(client).status_code == 401
    response = sign_in(client, password=ADMIN_PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 30


def test_device_token_urls_are_not_limited(client, admin, device):
    fail_ten_times(client)
    for n in range(10):
        sign_in(client, f"guess{n}@example.la")
    assert client.get(f"{base(device)}/formList", environ_base=REMOTE).status_code == 200


def test_basic_auth_over_plain_http_from_another_machine_is_refused(client, admin):
    response = client.get("/v1/projects", auth=admin, environ_base=REMOTE)
    assert response.status_code == 403
    assert "https" in response.get_json()["error"]
    response = client.get("/v1/projects/1/formList", auth=admin, environ_base=REMOTE)
    assert response.status_code == 403 and "https" in openrosa_message(response)
    assert sign_in(client, password=ADMIN_PASSWORD, environ_base=REMOTE).status_code == 403


@pytest.fixture
def untrusting(app):
    """The app with TRUSTED_PROXIES at its default (empty): nobody's forwarded headers count."""
    other = create_app({**app.config, "TRUSTED_PROXIES": ""})
    yield other
    other.extensions["collector.engine"].dispose()


def test_forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy(untrusting, admin):
    client = untrusting.test_client()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.3.0.1"}
    response = client.get("/v1/projects", auth=admin, headers=forged, environ_base=REMOTE)
    assert response.status_code == 403 and "Strict-Transport-Security" not in response.headers
    for n in range(10):
        forged["X-Forwarded-For"] = f"10.3.0.{n}"
        sign_in(client, f"guess{n}@example.la", headers=forged)
    assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD, headers=forged).status_code == 429


def test_basic_auth_over_https_or_from_loopback_is_accepted(client, admin):
    assert (
        client.get("/v1/projects", auth=admin, environ_base=REMOTE, base_url="https://collect.test").status_code == 200
    )
    # Behind the trusted proxy (PROXY_HOPS=1) the scheme is the one nginx saw.
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    assert client.get("/v1/projects", auth=admin, headers=forwarded).status_code == 200
    assert client.get("/v1/projects", auth=admin, environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # A client behind the proxy cannot pass for the machine itself over http.
    spoofed = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7"}
    assert client.get("/v1/projects", auth=admin, headers=spoofed).status_code == 403


def test_bearer_tokens_and_device_links_work_over_plain_http(client, admin, device):
    token = sign_in(client, password=ADMIN_PASSWORD).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/projects", headers=headers, environ_base=REMOTE).status_code == 200
    assert client.get(f"{base(device)}/formList", environ_base=REMOTE).status_code == 200


def test_disabled_user_is_refused_by_password_and_by_session(client, admin, db_session):
    headers = {"Authorization": f"Bearer {sign_in(client, password=ADMIN_PASSWORD).get_json()['token']}"}
    set_disabled(db_session, db_session.scalar(select(User)), True)
    db_session.commit()
    assert client.get("/v1/projects", headers=headers).status_code == 401
    assert client.get("/v1/projects", auth=admin).status_code == 401
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 401


def test_security_headers_on_openrosa_json_and_error_answers(client, admin, device, published_form):
    answers = {
        "openrosa": client.get(f"{base(device)}/formList"),
        "json": client.get("/v1/projects", auth=admin),
        "json error": client.get("/v1/projects/99", auth=admin),
        "openrosa error": client.get("/v1/projects/1/formList"),
    }
    assert [r.status_code for r in answers.values()] == [200, 200, 404, 401]
    for response in answers.values():
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in response.headers
    secure = client.get("/v1/projects", auth=admin, base_url="https://collect.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_form_downloads_keep_their_etag_and_may_be_revalidated(client, device, published_form):
    form = client.get(f"{base(device)}/forms/sample_case.xml")
    assert form.headers["ETag"] and form.headers["Cache-Control"] == "private, no-cache"
    assert (
        client.get(f"{base(device)}/forms/sample_case.xml", headers={"If-None-Match": form.headers["ETag"]}).status_code
        == 304
    )
    with client.get(f"{base(device)}/forms/sample_case/attachments/provinces.csv") as media:
        assert media.status_code == 200 and media.headers["ETag"]
        assert "no-store" not in media.headers["Cache-Control"]


@pytest.mark.real_passwords
def test_passwords_are_hashed_at_argon2ids_real_cost(client, admin, db_session):
    """The rest of the suite hashes cheaply (tests/conftest.py); the server itself uses argon2id's defaults."""
    from argon2 import Parameters, extract_parameters, profiles

    stored = db_session.scalar(select(User.password_hash).where(User.email == ADMIN_EMAIL))
    parameters: Parameters = extract_parameters(stored)
    default = profiles.RFC_9106_LOW_MEMORY
    assert (parameters.type.name, parameters.time_cost, parameters.memory_cost) == (
        "ID",
        default.time_cost,
        default.memory_cost,
    )
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 200
