"""The console's users and audit pages (issue 18, page 7): administrators only; create users under the password
rules with refusals in the page language; disable, enable, reset a password, end sessions and tokens (never
one's own access); the audit log with filters, key paging and a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from forms.lao import strip_marks
from ingest.models import ApiToken, AuditEvent, User, UserSession
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of
from tests.support.fuzzing import FUZZ, encode, hostile, path_param

USERS, AUDIT = "/console/users", "/console/audit"
GOOD = "paddy field monsoon lantern"


def shown(response) -> str:
    """The page's text without the Lao word-break marks the console puts in every page."""
    return strip_marks(response.get_data(as_text=True))


def as_admin(client) -> str:
    assert console_sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302
    return csrf_of(client.get(USERS))


def fresh_user(db_session, email: str) -> User:
    db_session.rollback()
    db_session.expire_all()
    return db_session.scalar(select(User).where(User.email == email))


def count(db_session, model, *where) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def new_user(client, token, **fields):
    data = {"csrf_token": token, "email": "new@example.la", "name": "ນາງ ໃໝ່", "role": "analyst", "password": GOOD}
    data.update(fields)
    return client.post(f"{USERS}?lang=lo", data=data)


def test_an_admin_creates_a_user_with_role_and_provinces_and_it_is_audited(client, admin, staff, db_session):
    token = as_admin(client)
    response = new_user(client, token, email="Noy@Example.la", role="provincial-officer", provinces="05, 06")
    assert response.status_code == 303
    user = fresh_user(db_session, "noy@example.la")
    assert user.role == "provincial-officer" and user.provinces == ["05", "06"]
    page = shown(client.get(response.headers["Location"]))
    assert "noy@example.la" in page and "ສ້າງຜູ້ໃຊ້" in page
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event.resource == f"user:{user.id}" and event.details["provinces"] == ["05", "06"]
    assert GOOD not in str(event.details)


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"password": "short"}, 400, "12"),
        ({"password": "password1234"}, 400, "ເດົາງ່າຍ"),
        ({"password": "new@example.la1"}, 400, "ເດົາງ່າຍ"),
        ({"provinces": "19"}, 400, "19"),
        ({"provinces": "05<b>"}, 400, "05&lt;b&gt;"),
        ({"role": "provincial-officer"}, 400, "ບົດບາດ ແລະ ແຂວງບໍ່ເຂົ້າກັນ"),
        ({"role": "analyst", "provinces": "05"}, 400, "ບົດບາດ ແລະ ແຂວງບໍ່ເຂົ້າກັນ"),
        ({"role": "superuser"}, 400, "ບົດບາດ"),
        ({"email": "not-an-email"}, 400, "ອີເມວ"),
        ({"email": ANALYST}, 409, "ມີຜູ້ໃຊ້ທີ່ໃຊ້ອີເມວນີ້ແລ້ວ"),
    ],
)
def test_refused_users_show_why_in_lao_and_keep_the_form(client, admin, staff, db_session, fields, status, says):
    token = as_admin(client)
    before = count(db_session, User)
    response = new_user(client, token, **fields)
    html = shown(response)
    assert response.status_code == status and response.mimetype == "text/html"
    assert says in html and 'class="flash bad"' in html
    assert fields.get("password", GOOD) not in html  # the password is never shown back
    assert count(db_session, User) == before


def test_the_password_refusal_is_in_english_on_an_english_page(client, admin, staff):
    token = as_admin(client)
    client.get(f"{USERS}?lang=en")
    data = {"csrf_token": token, "email": "e@example.la", "role": "analyst", "password": "password1234"}
    html = shown(client.post(USERS, data=data))
    assert "too easy to guess" in html


def test_disable_and_enable_a_user_and_never_oneself(client, admin, staff, db_session):
    token = as_admin(client)
    analyst = fresh_user(db_session, ANALYST)
    other = app_client = client.application.test_client()
    assert console_sign_in(other, ANALYST, PASSWORD).status_code == 302
    url = f"{USERS}/{analyst.id}/access"
    assert client.post(url, data={"csrf_token": token, "disabled": "yes"}).status_code == 303
    assert fresh_user(db_session, ANALYST).disabled_at is not None
    assert app_client.get("/console/projects/1/forms").status_code == 302  # signed out at once
    assert client.post(url, data={"csrf_token": token, "disabled": "no"}).status_code == 303
    assert fresh_user(db_session, ANALYST).disabled_at is None
    assert client.post(url, data={"csrf_token": token, "disabled": "maybe"}).status_code == 400
    me = fresh_user(db_session, ADMIN_EMAIL)
    response = client.post(f"{USERS}/{me.id}/access?lang=en", data={"csrf_token": token, "disabled": "yes"})
    assert response.status_code == 403 and "your own" in shown(response)
    assert fresh_user(db_session, ADMIN_EMAIL).disabled_at is None
    assert count(db_session, AuditEvent, AuditEvent.action == "user.update") == 2


def test_reset_a_password_ends_the_sessions_and_refuses_a_weak_one(client, admin, staff, db_session):
    token = as_admin(client)
    trainer = fresh_user(db_session, TRAINER)
    other = client.application.test_client()
    assert console_sign_in(other, TRAINER, PASSWORD).status_code == 302
    url = f"{USERS}/{trainer.id}/password"
    response = client.post(url, data={"csrf_token": token, "password": "qwertyuiop12"})
    assert response.status_code == 400 and "ເດົາງ່າຍ" in shown(response)
    assert other.get("/console/projects/1/forms").status_code != 302
    assert client.post(url, data={"csrf_token": token, "password": GOOD}).status_code == 303
    assert other.get("/console/projects/1/forms").status_code == 302
    assert console_sign_in(other, TRAINER, PASSWORD).status_code != 302
    assert console_sign_in(other, TRAINER, GOOD).status_code == 302
    db_session.rollback()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert event.details == {"password": True}


def test_end_every_session_and_token_of_a_user(client, admin, staff, db_session):
    from ingest.accounts.users import create_api_token, open_session

    officer = fresh_user(db_session, OFFICER)
    create_api_token(db_session, officer, "R script")
    open_session(db_session, officer)
    db_session.commit()
    token = as_admin(client)
    response = client.post(f"{USERS}/{officer.id}/sign-out?lang=en", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Ended 1 session(s) and revoked 1 token(s)" in shown(client.get(response.headers["Location"]))
    assert count(db_session, UserSession, UserSession.user_id == officer.id) == 0
    assert count(db_session, ApiToken, ApiToken.user_id == officer.id, ApiToken.revoked_at.is_(None)) == 0
    assert count(db_session, AuditEvent, AuditEvent.action == "token.revoke") == 1
    me = fresh_user(db_session, ADMIN_EMAIL)
    assert client.post(f"{USERS}/{me.id}/sign-out", data={"csrf_token": token}).status_code == 403


def test_posts_without_the_csrf_token_change_nothing(client, admin, staff, db_session):
    as_admin(client)
    analyst = fresh_user(db_session, ANALYST)
    before = count(db_session, User)
    posts = [
        (USERS, {"email": "x@example.la", "role": "analyst", "password": GOOD}),
        (f"{USERS}/{analyst.id}/access", {"disabled": "yes"}),
        (f"{USERS}/{analyst.id}/password", {"password": GOOD}),
        (f"{USERS}/{analyst.id}/sign-out", {}),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 400, url
    assert count(db_session, User) == before and fresh_user(db_session, ANALYST).disabled_at is None


@pytest.mark.parametrize("email", [TRAINER, ANALYST, OFFICER])
def test_non_admins_get_403_on_users_and_audit(client, admin, staff, email):
    assert console_sign_in(client, email, PASSWORD).status_code == 302
    token = csrf_of(client.get("/console/projects/1/forms"))
    for path in (USERS, f"{USERS}/1", AUDIT, f"{AUDIT}.csv"):
        assert client.get(path).status_code == 403, path
    data = {"csrf_token": token, "email": "sneak@example.la", "role": "admin", "password": GOOD}
    assert client.post(USERS, data=data).status_code == 403
    assert client.post(f"{USERS}/1/access", data={"csrf_token": token, "disabled": "yes"}).status_code == 403


def test_unknown_users_are_404_pages(client, admin, staff):
    token = as_admin(client)
    assert client.get(f"{USERS}/999999").status_code == 404
    assert client.post(f"{USERS}/999999/sign-out", data={"csrf_token": token}).status_code == 404


def test_the_audit_log_filters_by_who_what_when_and_record(client, admin, staff, db_session):
    token = as_admin(client)
    assert new_user(client, token, email="audited@example.la").status_code == 303
    created = fresh_user(db_session, "audited@example.la")
    me = fresh_user(db_session, ADMIN_EMAIL)
    html = shown(client.get(f"{AUDIT}?action=user.create&lang=en"))
    assert f"user:{created.id}" in html and "session.create" not in html.split("<tbody>")[1]
    html = shown(client.get(f"{AUDIT}?resource=user:{created.id}"))
    assert "user.create" in html.split("<tbody>")[1]
    html = shown(client.get(f"{AUDIT}?action=session&user={me.id}"))
    assert "session.create" in html.split("<tbody>")[1] and "user.create" not in html.split("<tbody>")[1]
    html = shown(client.get(f"{AUDIT}?start=2001-01-01&end=2001-01-02&lang=en"))
    assert "No event matches" in html
    # Reading the log is itself audited, with the filters asked for.
    db_session.rollback()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.read")).all()[-1]
    assert event.details["start"] == "2001-01-01" and event.details["via"] == "console"


@pytest.mark.parametrize(
    "query",
    ["start=yesterday", "end=2026-13-45", "user=me", "action=drop.table", "before=xyz", "before=2026-01-01~x"],
)
def test_bad_audit_filters_are_400_pages(client, admin, staff, query):
    as_admin(client)
    for path in (AUDIT, f"{AUDIT}.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.mimetype == "text/html", (path, query)


def test_the_audit_log_pages_by_key(client, admin, staff, db_session, monkeypatch):
    from collector.console.views import admin as views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    as_admin(client)
    for _ in range(4):
        client.get(f"{AUDIT}?action=session")  # each read adds an audit.read event
    seen: list[str] = []
    url = f"{AUDIT}?action=audit"
    while url:
        html = shown(client.get(url))
        seen += re.findall(r'<td class="nowrap">([^<]+)</td>', html)
        older = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    # 4 reads before, plus the reads of each page as it was opened: no event twice, none missed.
    total = count(db_session, AuditEvent, AuditEvent.action == "audit.read")
    assert len(seen) >= 4 and len(seen) <= total and seen == sorted(seen, reverse=True)


def test_the_csv_is_the_filtered_log_and_spreadsheet_safe(client, admin, staff, db_session):
    from ingest import audit
    from ingest.access import SYSTEM
    from ingest.scope import acting_as

    with acting_as(db_session, SYSTEM):
        audit.record(db_session, "device.create", '=HYPERLINK("http://x.invalid","y")', address="+1")
    db_session.commit()
    as_admin(client)
    response = client.get(f"{AUDIT}.csv?action=device")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["loggedAt", "userEmail", "userId", "deviceId", "action"]
    assert len(rows) == 2 and rows[1][4] == "device.create"
    assert rows[1][5].startswith("'=") and rows[1][6] == "'+1"


@pytest.fixture
def admin_fuzz(app, client, admin, staff, published_form):
    """An administrator signed in on `client` (its CSRF token kept), a tablet of 05 and no sign-in limit."""
    from ingest.accounts.users import create_device

    app.config["SIGNIN_MAX_FAILURES"] = 1_000_000
    db = app.extensions["collector.sessions"]()
    create_device(db, 1, "Fuzz tablet", "05")
    db.commit()
    db.close()
    return {"client": client, "csrf": as_admin(client), "app": app}


@FUZZ
@given(data=st.data())
def test_hostile_requests_to_tablets_users_and_audit_never_5xx(admin_fuzz, data):
    """Any of these pages, ids, queries and form fields (NULs, lone surrogates, huge ids): below 500, and every
    error of a routed page is a page, never JSON."""
    rule = data.draw(
        st.sampled_from(
            [
                "/console/devices",
                "/console/devices/{i}",
                "/console/devices/{i}/qr.png",
                "/console/devices/{i}/revoke",
                "/console/devices/course",
                "/console/users",
                "/console/users/{i}",
                "/console/users/{i}/access",
                "/console/users/{i}/password",
                "/console/users/{i}/sign-out",
                "/console/audit",
                "/console/audit.csv",
            ]
        ),
        "page",
    )
    path = rule.format(i=encode(data.draw(path_param("int", ["1", "2"]), "id")))
    names = ["user", "action", "start", "end", "resource", "before", "lang"]
    query = data.draw(st.dictionaries(st.sampled_from(names), hostile, max_size=3), "query")
    fields = data.draw(
        st.dictionaries(
            st.sampled_from(["name", "province", "forms", "count", "course", "lang", "confirm", "email", "role"]),
            st.one_of(st.sampled_from(["05", "19", "yes", "2", "admin", "sample_case"]), hostile),
            max_size=5,
        ),
        "form fields",
    )
    fields["csrf_token"] = admin_fuzz["csrf"]
    method = data.draw(st.sampled_from(["GET", "POST"]), "method")
    response = admin_fuzz["client"].open(
        path + "?" + "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items()),
        method=method,
        data="&".join(f"{encode(k)}={encode(v)}" for k, v in fields.items()),
        content_type="application/x-www-form-urlencoded",
    )
    response.close()
    assert response.status_code < 500, (method, path, query, fields, response.status_code)
    if response.status_code >= 400 and "/v1/" not in path and response.status_code != 404:
        assert response.mimetype == "text/html", (method, path, response.status_code, response.mimetype)
