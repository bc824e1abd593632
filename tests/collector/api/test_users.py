"""Users and API tokens: the administrators' JSON API and CLI, disabling, revoking, and what each is audited as."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ingest.accounts.users import create_api_token, create_user
from ingest.db import utcnow
from ingest.models import ApiToken, AuditEvent, User, UserSession
from tests.conftest import ADMIN_EMAIL
from tests.support.openrosa import base

PASSWORD = "a long enough password"


@pytest.fixture
def analyst(app, db_session):
    """Create an analyst and return their Basic auth credentials."""
    create_user(db_session, "analyst@example.la", PASSWORD, "analyst")
    db_session.commit()
    return ("analyst@example.la", PASSWORD)


def user_id(db_session, email: str) -> int:
    db_session.rollback()  # see what the requests committed (SQLite keeps a read snapshot)
    return db_session.scalar(select(User.id).where(User.email == email))


def audits(db_session, action: str) -> list[AuditEvent]:
    db_session.rollback()
    return db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- JSON API ---------------------------------------------------------------------------------------------


def test_admin_creates_lists_reads_and_changes_a_provincial_officer(client, admin, db_session):
    response = client.post(
        "/v1/users",
        auth=admin,
        json={
            "email": "Officer@Example.la",
            "password": PASSWORD,
            "role": "provincial-officer",
            "provinces": ["05", "01"],
            "displayName": "Officer Five",
        },
    )
    assert response.status_code == 201
    created = response.get_json()
    assert (created["email"], created["role"], created["provinces"]) == (
        "officer@example.la",
        "provincial-officer",
        ["01", "05"],
    )
    assert "password" not in str(created).lower() and created["disabledAt"] is None
    assert [u["email"] for u in client.get("/v1/users", auth=admin).get_json()] == [ADMIN_EMAIL, "officer@example.la"]
    read = client.get(f"/v1/users/{created['id']}", auth=admin).get_json()
    assert {k: read[k] for k in ("id", "email", "role", "provinces", "displayName")} == {
        "id": created["id"],
        "email": "officer@example.la",
        "role": "provincial-officer",
        "provinces": ["01", "05"],
        "displayName": "Officer Five",
    }
    # The new user signs in and sees their provinces.
    assert client.get("/v1/users/current", auth=("officer@example.la", PASSWORD)).get_json()["provinces"] == [
        "01",
        "05",
    ]

    response = client.patch(f"/v1/users/{created['id']}", auth=admin, json={"provinces": ["07"]})
    assert response.get_json()["provinces"] == ["07"]
    response = client.patch(f"/v1/users/{created['id']}", auth=admin, json={"role": "analyst"})
    assert (response.get_json()["role"], response.get_json()["provinces"]) == ("analyst", [])
    [create] = audits(db_session, "user.create")
    assert create.details == {"role": "provincial-officer", "provinces": ["01", "05"]}
    assert create.user_id == user_id(db_session, ADMIN_EMAIL) and create.address == "127.0.0.1"
    assert [e.details for e in audits(db_session, "user.update")] == [
        {"provinces": ["07"]},
        {"role": "analyst", "provinces": []},
    ]


def test_unknown_role_or_province_is_400_naming_it(client, admin, analyst, db_session):
    response = client.post(
        "/v1/users", auth=admin, json={"email": "x@example.la", "password": PASSWORD, "role": "manager"}
    )
    assert response.status_code == 400 and "'manager'" in response.get_json()["error"]
    response = client.post(
        "/v1/users",
        auth=admin,
        json={"email": "x@example.la", "password": PASSWORD, "role": "provincial-officer", "provinces": ["99"]},
    )
    assert response.status_code == 400 and "'99'" in response.get_json()["error"]
    target = user_id(db_session, analyst[0])
    response = client.patch(f"/v1/users/{target}", auth=admin, json={"role": "superuser"})
    assert response.status_code == 400 and "'superuser'" in response.get_json()["error"]
    response = client.patch(f"/v1/users/{target}", auth=admin, json={"role": "trainer", "provinces": ["19"]})
    assert response.status_code == 400 and "'19'" in response.get_json()["error"]
    response = client.patch(f"/v1/users/{target}", auth=admin, json={"role": "provincial-officer"})
    assert response.status_code == 400 and "needs at least one province" in response.get_json()["error"]
    assert client.get(f"/v1/users/{target}", auth=admin).get_json()["role"] == "analyst"
    assert audits(db_session, "user.update") == [] and audits(db_session, "user.create") == []


def test_bad_user_bodies_are_refused(client, admin):
    assert client.post("/v1/users", auth=admin, json={"email": "x@example.la"}).status_code == 422
    response = client.post("/v1/users", auth=admin, json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 409
    response = client.post("/v1/users", auth=admin, json={"email": "y@example.la", "password": "short"})
    assert response.status_code == 400 and "at least 12 characters" in response.get_json()["error"]
    # Long enough, but common or easily guessed (NIST SP 800-63B): refused, and the password is not echoed.
    for weak in ("password1234", "123456789012", "qwertyuiop123", "y@example.la2026", "aaaaaaaaaaaaaaaa"):
        response = client.post("/v1/users", auth=admin, json={"email": "y@example.la", "password": weak})
        assert response.status_code == 400 and weak not in response.get_json()["error"], weak
    # A password is never changed through PATCH.
    assert client.patch("/v1/users/1", auth=admin, json={"password": "x" * 20}).status_code == 422
    assert client.get("/v1/users/99999", auth=admin).status_code == 404


def test_an_administrator_cannot_change_their_own_role_provinces_or_access(client, admin, db_session):
    me = user_id(db_session, ADMIN_EMAIL)
    for change in ({"role": "analyst"}, {"disabled": True}, {"role": "trainer", "provinces": ["05"]}):
        response = client.patch(f"/v1/users/{me}", auth=admin, json=change)
        assert response.status_code == 403 and "your own" in response.get_json()["error"]
    # Their own name, and a role they already hold, are fine.
    assert (
        client.patch(f"/v1/users/{me}", auth=admin, json={"displayName": "Chief", "role": "admin"}).status_code == 200
    )
    assert [e.details for e in audits(db_session, "user.update")] == [{"displayName": True}]


def test_users_api_is_for_administrators_only(client, admin, analyst, device, db_session):
    target = user_id(db_session, analyst[0])
    for method, path, body in (
        ("get", "/v1/users", None),
        ("post", "/v1/users", {"email": "z@example.la", "password": PASSWORD}),
        ("get", f"/v1/users/{target}", None),
        ("patch", f"/v1/users/{target}", {"role": "admin"}),
        ("get", "/v1/tokens", None),
        ("post", "/v1/tokens", {"name": "mine"}),
    ):
        assert getattr(client, method)(path, auth=analyst, json=body).status_code == 403
        # A device token URL on a staff path is refused too.
        device_path = f"{base(device).removesuffix('/projects/1')}{path.removeprefix('/v1')}"
        assert getattr(client, method)(device_path, json=body).status_code == 403
    assert client.get(f"/v1/users/{target}", auth=admin).get_json()["role"] == "analyst"


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(client, admin, analyst, db_session):
    session_token = client.post("/v1/sessions", json={"email": analyst[0], "password": PASSWORD}).get_json()["token"]
    api_token = client.post(
        "/v1/tokens", auth=admin, json={"name": "Power BI", "userId": user_id(db_session, analyst[0])}
    ).get_json()["token"]
    for credentials in ({"headers": bearer(session_token)}, {"headers": bearer(api_token)}, {"auth": analyst}):
        assert client.get("/v1/projects", **credentials).status_code == 200
    target = user_id(db_session, analyst[0])
    response = client.patch(f"/v1/users/{target}", auth=admin, json={"disabled": True})
    assert response.status_code == 200 and response.get_json()["disabledAt"]
    for credentials in ({"headers": bearer(session_token)}, {"headers": bearer(api_token)}, {"auth": analyst}):
        assert client.get("/v1/projects", **credentials).status_code == 401
    db_session.rollback()
    assert db_session.scalar(select(UserSession).where(UserSession.user_id == target)) is None
    # Enabled again: the password and the unrevoked API token work; the ended session does not come back.
    client.patch(f"/v1/users/{target}", auth=admin, json={"disabled": False})
    assert client.get("/v1/projects", headers=bearer(api_token)).status_code == 200
    assert client.get("/v1/projects", headers=bearer(session_token)).status_code == 401
    assert [e.details for e in audits(db_session, "user.update")] == [{"disabled": True}, {"disabled": False}]


def test_tokens_api_creates_lists_and_revokes(client, admin, analyst, db_session):
    target = user_id(db_session, analyst[0])
    response = client.post("/v1/tokens", auth=admin, json={"name": "pyodk", "userId": target, "expiresDays": 30})
    assert response.status_code == 201
    created = response.get_json()
    token = created.pop("token")
    assert created["userEmail"] == analyst[0] and created["expiresAt"] > created["createdAt"]
    listed = client.get(f"/v1/tokens?userId={target}", auth=admin).get_json()
    assert [t["name"] for t in listed] == ["pyodk"] and "token" not in listed[0]
    assert token not in client.get("/v1/tokens", auth=admin).get_data(as_text=True)
    # The token has the analyst's rights and no more.
    assert client.get("/v1/users/current", headers=bearer(token)).get_json()["role"] == "analyst"
    assert client.get("/v1/users", headers=bearer(token)).status_code == 403
    assert client.delete(f"/v1/tokens/{created['id']}", auth=admin).status_code == 200
    response = client.get("/v1/projects", headers=bearer(token))
    assert response.status_code == 401 and "revoked" in response.get_json()["error"]
    assert client.delete("/v1/tokens/9999", auth=admin).status_code == 404
    assert client.get("/v1/tokens?userId=x", auth=admin).status_code == 400
    for bad in ({"name": ""}, {"name": "x", "expiresDays": 0}, {"name": "x", "userId": 9999}):
        assert client.post("/v1/tokens", auth=admin, json=bad).status_code in (400, 422)
    [create] = audits(db_session, "token.create")
    [revoke] = audits(db_session, "token.revoke")
    assert create.resource == revoke.resource == f"token:{created['id']}"
    assert create.details["forUser"] == target and token not in str(create.details)


def test_api_token_is_stored_as_a_hash_and_its_last_use_noted_once_a_minute(client, analyst, db_session):
    user = db_session.scalar(select(User).where(User.email == analyst[0]))
    token, row = create_api_token(db_session, user, "Power BI")
    db_session.commit()
    assert token not in (row.token_hash, row.name) and len(row.token_hash) == 64
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 200
    db_session.refresh(row)
    first = row.last_used_at
    assert first is not None
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 200
    db_session.rollback()
    assert db_session.get(ApiToken, row.id).last_used_at == first
    row = db_session.get(ApiToken, row.id)
    row.last_used_at = utcnow() - timedelta(minutes=2)
    db_session.commit()
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 200
    db_session.refresh(row)
    assert row.last_used_at > first


def test_expired_api_token_is_refused(client, analyst, db_session):
    user = db_session.scalar(select(User).where(User.email == analyst[0]))
    token, row = create_api_token(db_session, user, "old tool", 1)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 401


def test_an_api_token_cannot_be_signed_out_as_a_session(client, analyst, db_session):
    user = db_session.scalar(select(User).where(User.email == analyst[0]))
    token, _row = create_api_token(db_session, user, "tool")
    db_session.commit()
    response = client.delete("/v1/sessions/current", headers=bearer(token))
    assert response.status_code == 400 and "API token" in response.get_json()["error"]
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 200


# --- CLI --------------------------------------------------------------------------------------------------


def test_cli_lists_users_sets_roles_and_disables(runner, client, admin, analyst, db_session):
    result = runner.invoke(
        ["users", "set-role", analyst[0], "provincial-officer", "--province", "05", "--province", "03"]
    )
    assert result.exit_code == 0, result.output
    assert "provincial-officer in 03, 05" in result.output
    result = runner.invoke(["users", "list"])
    assert "analyst@example.la\tprovincial-officer\t03,05\tactive" in result.output
    assert "admin@example.la\tadmin\t-\tactive" in result.output

    result = runner.invoke(["users", "set-role", analyst[0], "provincial-officer", "--province", "42"])
    assert result.exit_code == 1 and "'42'" in result.output
    result = runner.invoke(["users", "set-role", analyst[0], "viewer"])
    assert result.exit_code == 2 and "viewer" in result.output
    assert runner.invoke(["users", "set-role", "nobody@example.la", "analyst"]).exit_code == 1

    assert runner.invoke(["users", "disable", analyst[0]]).exit_code == 0
    assert "disabled" in runner.invoke(["users", "list"]).output
    assert client.get("/v1/projects", auth=analyst).status_code == 401
    assert runner.invoke(["users", "enable", analyst[0]]).exit_code == 0
    assert client.get("/v1/projects", auth=analyst).status_code == 200
    events = audits(db_session, "user.update")
    assert [e.details for e in events] == [
        {"role": "provincial-officer", "provinces": ["03", "05"]},
        {"disabled": True},
        {"disabled": False},
    ]
    assert {e.address for e in events} == {"cli"}


def test_cli_tokens_create_list_revoke(runner, client, analyst, db_session):
    result = runner.invoke(["tokens", "create", "Power BI", "--user", analyst[0], "--expires", "90"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert client.get("/v1/users/current", headers=bearer(token)).get_json()["email"] == analyst[0]
    listing = runner.invoke(["tokens", "list", "--user", analyst[0]]).output
    assert "Power BI\tanalyst@example.la\texpires" in listing and token not in listing
    token_id = db_session.scalar(select(ApiToken.id))
    assert runner.invoke(["tokens", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/v1/projects", headers=bearer(token)).status_code == 401
    assert "revoked" in runner.invoke(["tokens", "list"]).output
    assert runner.invoke(["tokens", "revoke", "999"]).exit_code == 1
    assert runner.invoke(["tokens", "create", "x", "--user", "nobody@example.la"]).exit_code == 1
    assert runner.invoke(["tokens", "create", "x", "--user", analyst[0], "--expires", "0"]).exit_code == 2
    assert [e.action for e in audits(db_session, "token.create") + audits(db_session, "token.revoke")] == [
        "token.create",
        "token.revoke",
    ]


def test_cli_refuses_a_token_for_a_disabled_user(runner, analyst):
    runner.invoke(["users", "disable", analyst[0]])
    result = runner.invoke(["tokens", "create", "x", "--user", analyst[0]])
    assert result.exit_code == 1 and "disabled" in result.output
