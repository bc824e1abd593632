"""Hand-off tasks over the JSON API and the CLI (issue 10): scoped per role, filtered, key-paged, audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ingest.models import AuditEvent
from tests.support.tasks import CODE, FOLLOWUP, HOME, NAME, ORIGIN, OTHER, SCREENING, publish_handoff, send


@pytest.fixture
def handoff(app, db_session):
    """The hand-off forms published, and a device in each of three provinces."""
    return publish_handoff(app, db_session)


PASSWORD = "a long enough password"
URL = "/v1/projects/1/tasks"
WITHHELD = "05-0000000b"
#: Users by role (and provinces); each sees the tasks listed in test_each_role_sees_the_tasks_it_owes.
USERS = {
    "admin": ("admin", ()),
    "national": ("case-officer", ()),
    "home": ("provincial-officer", (HOME,)),
    "origin": ("provincial-officer", (ORIGIN,)),
    "other": ("provincial-officer", (OTHER,)),
    "analyst": ("analyst", ()),
    "statistician": ("statistician", ()),
    "trainer": ("trainer", ()),
}


class Users(dict):
    """Basic auth credentials of the users of USERS, each created on first use (argon2 is slow by design)."""

    def __init__(self, db_session):
        super().__init__()
        self.db_session = db_session

    def __missing__(self, name):
        from ingest.accounts.users import create_user

        role, provinces = USERS[name]
        create_user(self.db_session, f"{name}@example.la", PASSWORD, role, provinces=list(provinces))
        self.db_session.commit()
        self[name] = (f"{name}@example.la", PASSWORD)
        return self[name]


@pytest.fixture
def users(app, db_session):
    return Users(db_session)


@pytest.fixture
def cases(client, handoff):
    """Three hand-offs to the home province: one open, one closed by a home follow-up, one whose consent to
    share was refused; and a case that stays in its province."""
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, "full_name": NAME})
    send(client, handoff, ORIGIN, "screening", "uuid:s2", {**SCREENING, "case_code": "05-00000002"})
    send(client, handoff, HOME, "followup", "uuid:f2", {**FOLLOWUP, "case_code": "05-00000002"})
    send(client, handoff, ORIGIN, "screening", "uuid:s3", {**SCREENING, "case_code": WITHHELD, "consent_sharing": "no"})
    send(
        client,
        handoff,
        ORIGIN,
        "screening",
        "uuid:s4",
        {**SCREENING, "case_code": "05-00000004", "home_province": ORIGIN, "home_district": "0501"},
    )


def codes(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [t["caseCode"] for t in response.get_json()["tasks"]]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("admin", [CODE, "05-00000002", WITHHELD]),
        ("national", [CODE, "05-00000002"]),
        ("home", [CODE, "05-00000002"]),
        # The identifying province sees only the hand-off that was not handed on (consent refused).
        ("origin", [WITHHELD]),
        ("other", []),
    ],
)
def test_each_role_sees_the_tasks_it_owes(client, users, cases, who, expected):
    assert codes(client.get(URL, auth=users[who])) == expected


@pytest.mark.parametrize("who", ["analyst", "statistician", "trainer"])
def test_roles_without_task_access_are_refused(client, users, cases, who):
    assert client.get(URL, auth=users[who]).status_code == 403


def test_a_device_token_is_refused(client, handoff, cases):
    assert client.get(f"/v1/key/{handoff.devices[HOME].token}/projects/1/tasks").status_code == 403


def test_a_task_says_what_is_known_and_no_name(client, users, cases):
    response = client.get(URL, auth=users["home"], query_string={"status": "closed"})
    [task] = response.get_json()["tasks"]
    assert task["caseCode"] == "05-00000002" and task["status"] == "closed" and task["closedBy"] == "uuid:f2"
    assert (task["homeProvince"], task["homeDistrict"], task["originProvince"]) == (HOME, "1305", ORIGIN)
    assert task["kind"] == "followup" and task["openedAt"] and task["closedAt"]
    assert "Female" in task["summary"] and "ForcedLabour" in task["summary"]
    body = client.get(URL, auth=users["admin"]).get_data(as_text=True)
    assert NAME not in body and "Noy" not in body


def test_filters_and_key_paging(client, users, cases):
    admin = users["admin"]
    assert codes(client.get(URL, auth=admin, query_string={"status": "open"})) == [CODE, WITHHELD]
    assert codes(client.get(URL, auth=admin, query_string={"province": OTHER})) == []
    assert codes(client.get(URL, auth=admin, query_string={"province": HOME, "status": "closed"})) == ["05-00000002"]
    first = client.get(URL, auth=admin, query_string={"limit": 2}).get_json()
    assert [t["caseCode"] for t in first["tasks"]] == [CODE, "05-00000002"] and first["nextCursor"]
    rest = client.get(URL, auth=admin, query_string={"limit": 2, "cursor": first["nextCursor"]}).get_json()
    assert [t["caseCode"] for t in rest["tasks"]] == [WITHHELD] and rest["nextCursor"] is None


@pytest.mark.parametrize(
    "query", [{"status": "pending"}, {"province": "99"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "abc"}]
)
def test_bad_queries_are_400(client, users, cases, query):
    response = client.get(URL, auth=users["admin"], query_string=query)
    assert response.status_code == 400 and response.get_json()["ok"] is False


def test_a_project_that_does_not_exist_is_404(client, users, cases):
    assert client.get("/v1/projects/7/tasks", auth=users["admin"]).status_code == 404


def test_listing_is_audited_with_counts_only(client, users, cases, db_session):
    client.get(URL, auth=users["home"], query_string={"status": "open"})
    db_session.rollback()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "task.list")).one()
    assert event.resource == "project:1" and event.details == {"count": 1, "status": "open", "provinces": []}


def test_cli_lists_tasks_as_a_user(runner, users, cases, db_session):
    users["home"]
    result = runner.invoke(["tasks", "list", "--as", "home@example.la", "--status", "open"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [t["caseCode"] for t in lines] == [CODE]
    everything = runner.invoke(["tasks", "list"])
    assert [json.loads(line)["caseCode"] for line in everything.output.splitlines()] == [CODE, "05-00000002", WITHHELD]
    by_province = runner.invoke(["tasks", "list", "--province", OTHER])
    assert by_province.exit_code == 0 and by_province.output == ""
    db_session.rollback()
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "task.list")).all()


@pytest.mark.parametrize("who", ["analyst", "statistician"])
def test_cli_refuses_roles_without_task_access(runner, users, cases, who):
    users[who]
    result = runner.invoke(["tasks", "list", "--as", f"{who}@example.la"])
    assert result.exit_code == 1 and "may not read tasks" in result.output


def test_cli_sync_rebuilds_the_same_tasks(runner, users, cases):
    before = runner.invoke(["tasks", "list"]).output
    result = runner.invoke(["tasks", "sync"])
    assert result.exit_code == 0 and "4 case(s)" in result.output
    assert runner.invoke(["tasks", "list"]).output == before
