"""The audit log: append-only, read by administrators (`GET /v1/audits`, `collector audit`), and complete:
every audited action leaves who, what, where, and never the data."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from ingest import audit
from ingest.audit import AppendOnly, parse_moment
from ingest.db import utcnow
from ingest.models import AuditEvent, Device, User
from tests.conftest import DATA, make_instance
from tests.support.openrosa import JPEG, post

PASSWORD = "a long enough password"
NAME = "ນາງ ບົວພັນ Audited-Person"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def basic(email: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


@pytest.fixture
def staff(app, db_session):
    """Create one user of each role (email `<role>@example.la`) and return their ids by role."""
    from ingest.access import ROLES
    from ingest.accounts.users import create_user

    users = {
        role: create_user(
            db_session, f"{role}@example.la", PASSWORD, role, provinces=["01"] if role == "provincial-officer" else []
        )
        for role in ROLES
    }
    db_session.commit()
    return {role: user.id for role, user in users.items()}


def events(db_session, action: str | None = None) -> list[AuditEvent]:
    db_session.rollback()  # a fresh snapshot: on SQLite an open read transaction would not see later commits
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db_session.scalars(query).all()


# --- append-only -------------------------------------------------------------------------------------------


def test_audit_events_cannot_be_changed_or_removed(app, db_session):
    audit.record(db_session, "form.state", "form:x", address="cli", n=1)
    db_session.commit()
    event = events(db_session)[0]

    event.action = "rewritten"
    with pytest.raises(AppendOnly):
        db_session.flush()
    db_session.rollback()
    db_session.delete(events(db_session)[0])
    with pytest.raises(AppendOnly):
        db_session.flush()
    db_session.rollback()
    with pytest.raises(AppendOnly):
        db_session.execute(update(AuditEvent).values(action="rewritten"))
    db_session.rollback()
    with pytest.raises(AppendOnly):
        db_session.execute(delete(AuditEvent))
    db_session.rollback()

    engine = app.extensions["collector.engine"]
    if engine.dialect.name == "postgresql":
        # Below the application, the database itself refuses: the trigger of the protection migration.
        for statement in ("UPDATE audit_events SET action = 'rewritten'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    assert [(e.action, e.resource, e.details) for e in events(db_session)] == [("form.state", "form:x", {"n": 1})]


def test_no_route_changes_the_audit(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert {r.rule for r in rules} == {"/v1/audits", "/v1/key/<token>/audits", "/console/audit", "/console/audit.csv"}
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


# --- GET /v1/audits ----------------------------------------------------------------------------------------


def test_audits_are_listed_newest_first_in_centrals_shape(client, db_session, staff):
    audit.record(db_session, "session.failed", "account:abc", address="192.0.2.9")
    db_session.commit()
    audit.record(
        db_session, "submission.read", "submission:7", user_id=staff["admin"], address="192.0.2.9", version="uuid:v2"
    )
    db_session.commit()

    response = client.get("/v1/audits", headers=basic("admin@example.la"))

    assert response.status_code == 200
    first, second = response.get_json()
    assert set(first) == {"actorId", "deviceId", "action", "acteeId", "resource", "address", "details", "loggedAt"}
    assert (
        first["actorId"],
        first["action"],
        first["acteeId"],
        first["resource"],
        first["address"],
        first["details"],
    ) == (staff["admin"], "submission.read", "submission:7", "submission:7", "192.0.2.9", {"version": "uuid:v2"})
    assert first["loggedAt"].endswith("Z") and second["action"] == "session.failed"
    assert second["actorId"] is None


def test_audits_filter_by_action_category_time_limit_and_offset(client, db_session, staff):
    for action in ("session.failed", "session.create", "submission.read", "form.publish"):
        audit.record(db_session, action, "x:1", address="192.0.2.9")
        db_session.commit()
    admin = basic("admin@example.la")

    def actions(query: str) -> list[str]:
        response = client.get(f"/v1/audits{query}", headers=admin)
        assert response.status_code == 200, response.data
        return [e["action"] for e in response.get_json() if e["action"] != "audit.read"]

    assert actions("?limit=2") == ["form.publish", "submission.read"]  # before any audit.read is recorded
    assert actions("?action=session.failed") == ["session.failed"]
    assert actions("?action=session") == ["session.create", "session.failed"]
    assert actions("?action=session&limit=1&offset=1") == ["session.failed"]
    today = utcnow().date()
    assert len(actions(f"?start={today.isoformat()}&end={today.isoformat()}")) == 4
    assert actions(f"?start={(today + timedelta(days=1)).isoformat()}") == []
    assert actions(f"?end={(today - timedelta(days=1)).isoformat()}z") == []


@pytest.mark.parametrize("query", ["?start=yesterday", "?end=2026-13-01", "?limit=-1", "?limit=5001", "?offset=x"])
def test_audits_with_a_malformed_filter_are_400(client, staff, query):
    response = client.get(f"/v1/audits{query}", headers=basic("admin@example.la"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("?")


def test_reading_the_audit_is_audited(client, db_session, staff):
    client.get("/v1/audits?action=session&limit=10", headers=basic("admin@example.la"))
    (event,) = events(db_session, "audit.read")
    assert (event.user_id, event.resource, event.address) == (staff["admin"], "audit", "127.0.0.1")
    assert event.details == {
        "actionFilter": "session",
        "start": None,
        "end": None,
        "limit": 10,
        "offset": 0,
        "count": 0,
    }


@pytest.mark.parametrize("role", ["trainer", "case-officer", "provincial-officer", "analyst", "statistician"])
def test_only_administrators_read_the_audit(client, db_session, staff, role):
    response = client.get("/v1/audits", headers=basic(f"{role}@example.la"))
    assert response.status_code == 403
    assert events(db_session, "audit.read") == []


def test_a_device_cannot_read_the_audit(client, device):
    response = client.get(f"/v1/key/{device.token}/audits")
    assert response.status_code == 403


def test_parse_moment_reads_centrals_forms():
    assert parse_moment("2026-12-01").isoformat() == "2026-12-01T00:00:00+00:00"
    assert parse_moment("2026-12-01", end=True).isoformat() == "2026-12-02T00:00:00+00:00"
    assert parse_moment("2026-12-01T08:30z").isoformat() == "2026-12-01T08:30:00+00:00"
    assert parse_moment("2026-12-01T08:30+07:00").isoformat() == "2026-12-01T08:30:00+07:00"
    with pytest.raises(ValueError):
        parse_moment("1 December")


# --- collector audit ---------------------------------------------------------------------------------------


def test_cli_prints_events_oldest_first_with_the_users_email(runner, db_session, staff, device):
    audit.record(
        db_session, "session.create", f"user:{staff['analyst']}", user_id=staff["analyst"], address="192.0.2.9"
    )
    db_session.commit()
    audit.record(
        db_session, "submission.read", "submission:7", device_id=device.id, address="192.0.2.10", version="uuid:v2"
    )
    db_session.commit()

    result = runner.invoke(["audit"])

    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[1:] for line in lines] == [
        ["analyst@example.la", "session.create", f"user:{staff['analyst']}", "192.0.2.9", "{}"],
        [f"device:{device.id}", "submission.read", "submission:7", "192.0.2.10", '{"version": "uuid:v2"}'],
    ]
    assert lines[0][0].endswith("Z")
    (read,) = events(db_session, "audit.read")
    assert read.address == "cli" and read.details["count"] == 2


def test_cli_filters_by_user_action_since_and_limit(runner, db_session, staff):
    for role, action in (("admin", "session.create"), ("analyst", "session.create"), ("analyst", "submission.read")):
        audit.record(db_session, action, "x:1", user_id=staff[role], address="192.0.2.9")
        db_session.commit()

    def actions(*args) -> list[tuple[str, str]]:
        result = runner.invoke(["audit", *args])
        assert result.exit_code == 0, result.output
        return [tuple(line.split("\t")[1:3]) for line in result.stdout.splitlines()]

    assert actions("--user", "Analyst@example.la") == [
        ("analyst@example.la", "session.create"),
        ("analyst@example.la", "submission.read"),
    ]
    assert actions("--action", "session") == [
        ("admin@example.la", "session.create"),
        ("analyst@example.la", "session.create"),
    ]
    assert actions("--limit", "1", "--action", "session") == [("analyst@example.la", "session.create")]
    assert actions("--since", (utcnow() + timedelta(days=1)).date().isoformat()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--user", "nobody@example.la"], "No user with the email"),
        (["--since", "last week"], "is not an ISO 8601 date"),
    ],
)
def test_cli_with_an_unknown_user_or_bad_date_exits_1(runner, staff, args, message):
    result = runner.invoke(["audit", *args])
    assert result.exit_code == 1 and message in result.output


# --- coverage: each audited action leaves who, what, where; never the data --------------------------------


def test_every_audited_action_records_who_what_and_where(
    app, client, runner, db_session, staff, device, published_form
):
    app.config["VALIDATE_FORMS"] = False  # ODK Validate is not what is tested here
    admin, trainer = basic("admin@example.la"), basic("trainer@example.la")
    form = "/v1/projects/1/forms/sample_case"
    instance = "uuid:audit-coverage"
    assert post(client, device, make_instance(instance, name=NAME), {"photo.jpg": JPEG}).status_code == 201

    def ok(response, status=200):
        assert response.status_code == status, response.data
        response.close()  # a file download streams from the media store
        return response

    # Forms, drafts and devices, by a trainer over the API.
    ok(
        client.post(
            f"{form}/draft", data=(DATA / "sample_case_v2.xlsx").read_bytes(), headers=trainer, content_type=XLSX
        ),
        201,
    )
    ok(client.post(f"{form}/draft/publish?force=true", headers=trainer))
    ok(client.patch(f"{form}", json={"state": "closing"}, headers=trainer))
    created = ok(
        client.post("/v1/projects/1/app-users", json={"displayName": "Tablet A", "province": "01"}, headers=trainer),
        201,
    ).get_json()["id"]
    ok(client.put(f"/v1/projects/1/app-users/{created}/forms", json={"forms": ["sample_case"]}, headers=trainer))
    ok(client.delete(f"/v1/projects/1/app-users/{created}", headers=trainer))
    # Users and roles, by the administrator.
    new_user = ok(
        client.post(
            "/v1/users", json={"email": "new@example.la", "password": PASSWORD, "role": "analyst"}, headers=admin
        ),
        201,
    ).get_json()["id"]
    ok(client.patch(f"/v1/users/{new_user}", json={"role": "case-officer"}, headers=admin))
    # Reads of the record, its XML and its file.
    ok(client.get(f"{form}/submissions", headers=admin))
    ok(client.get(f"{form}/submissions/{instance}", headers=admin))
    ok(client.get(f"{form}/submissions/{instance}.xml", headers=admin))
    ok(client.get(f"{form}/submissions/{instance}/attachments/photo.jpg", headers=admin))
    # The command line.
    for args in (
        ["forms", "state", "sample_case", "open"],
        ["devices", "create", "Tablet B", "--province", "01"],
        ["submissions", "list", "sample_case", "--as", "case-officer@example.la"],
        ["retention", "set", "--form", "sample_case", "--days", "30"],
        ["retention", "apply", "--apply"],
    ):
        result = runner.invoke(args)
        assert result.exit_code == 0, (args, result.output)
    tablet_b = db_session.scalar(select(Device.id).where(Device.display_name == "Tablet B"))
    result = runner.invoke(["devices", "revoke", str(tablet_b)])
    assert result.exit_code == 0, result.output
    record_id = db_session.scalar(text("SELECT id FROM submissions WHERE instance_id = :i"), {"i": instance})

    api, cli = "127.0.0.1", "cli"
    expected = [  # (action, resource, user, address)
        ("form.draft", "form:sample_case", staff["trainer"], api),
        ("form.publish", "form:sample_case", staff["trainer"], api),
        ("form.state", "form:sample_case", staff["trainer"], api),
        ("device.create", f"device:{created}", staff["trainer"], api),
        ("device.assign", f"device:{created}", staff["trainer"], api),
        ("device.revoke", f"device:{created}", staff["trainer"], api),
        ("user.create", f"user:{new_user}", staff["admin"], api),
        ("user.update", f"user:{new_user}", staff["admin"], api),
        ("submission.list", "form:sample_case", staff["admin"], api),
        ("submission.read", f"submission:{record_id}", staff["admin"], api),
        ("submission.read_xml", f"submission:{record_id}", staff["admin"], api),
        ("attachment.read", f"submission:{record_id}", staff["admin"], api),
        ("form.state", "form:sample_case", None, cli),
        ("device.create", f"device:{tablet_b}", None, cli),
        ("submission.list", "form:sample_case", staff["case-officer"], cli),
        ("retention.set", "form:sample_case", None, cli),
        ("retention.apply", "forms", None, cli),
        ("device.revoke", f"device:{tablet_b}", None, cli),
    ]
    recorded = [(e.action, e.resource, e.user_id, e.address) for e in events(db_session)]
    assert recorded == expected, "\n".join(map(str, recorded))
    for event in events(db_session):
        assert NAME not in json.dumps(event.details, ensure_ascii=False) + event.resource
        assert "Audited-Person" not in json.dumps(event.details) and PASSWORD not in json.dumps(event.details)
    assert db_session.get(User, new_user).role == "case-officer"
