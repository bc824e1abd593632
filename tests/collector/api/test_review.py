"""Review states and comments on records, as ODK Central has them: who may set them, what they show, the audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ingest.records.review import REDACTED_COMMENT
from tests.conftest import make_instance
from tests.support.openrosa import post

FORM = "/v1/projects/1/forms/sample_case"
PASSWORD = "a long enough password"
NAME = "ນາງ ສົມໃຈ Review"
COMMENT = "Spoke with ນາງ ສົມໃຈ at the shelter; she asks for a follow-up visit."
#: role (and provinces) of each user the tests sign in as.
USERS = {
    "admin": ("admin", ()),
    "officer": ("case-officer", ()),
    "officer-05": ("provincial-officer", ("05",)),
    "analyst": ("analyst", ()),
    "trainer": ("trainer", ()),
    "statistician": ("statistician", ()),
}


@pytest.fixture
def records(app, client, db_session, published_form):
    """Store one record of province 01 and one of province 05; return their URLs by province."""
    from ingest.accounts.users import assign_forms, create_device, create_user

    for user, (role, provinces) in USERS.items():
        create_user(db_session, f"{user}@example.la", PASSWORD, role, provinces=provinces)
    urls = {}
    for province in ("01", "05"):
        device = create_device(db_session, 1, f"Tablet {province}", province)
        assign_forms(db_session, device, None)
        db_session.commit()
        instance_id = f"uuid:review-{province}"
        xml = make_instance(instance_id, name=NAME, photo=None).replace(
            b"<province>01</province>", f"<province>{province}</province>".encode()
        )
        assert post(client, device, xml).status_code == 201
        urls[province] = f"{FORM}/submissions/{instance_id}"
    return urls


def auth(user: str) -> tuple[str, str]:
    return (f"{user}@example.la", PASSWORD)


def review(client, url: str, user: str, state):
    return client.patch(url, json={"reviewState": state}, auth=auth(user))


def comment(client, url: str, user: str, body):
    return client.post(f"{url}/comments", json={"body": body}, auth=auth(user))


def audit_events(db_session, action: str) -> list:
    from ingest.models import AuditEvent

    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- review state ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["hasIssues", "edited", "approved", "rejected"])
def test_review_sets_each_state_and_returns_the_record(client, records, state):
    response = review(client, records["01"], "officer", state)
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["instanceId"] == "uuid:review-01" and body["reviewState"] == state
    assert body["data"]["full_name"] == NAME and body["updatedAt"] is not None
    assert client.get(records["01"], auth=auth("analyst")).get_json()["reviewState"] == state


def test_an_edit_marks_the_record_edited_as_central_does(client, db_session, records):
    from ingest.models import Device

    assert review(client, records["01"], "officer", "approved").status_code == 200
    device = db_session.scalar(select(Device).where(Device.province_code == "01"))
    edit = make_instance("uuid:review-01-edit", name=NAME, photo=None, deprecated_id="uuid:review-01")
    assert post(client, device, edit).status_code == 201
    assert client.get(records["01"], auth=auth("officer")).get_json()["reviewState"] == "edited"


@pytest.mark.parametrize("state", ["received", None])
def test_review_received_clears_the_state_to_null_as_central_reports_it(client, records, state):
    assert review(client, records["01"], "admin", "approved").status_code == 200
    response = review(client, records["01"], "admin", state)
    assert response.status_code == 200 and response.get_json()["reviewState"] is None


@pytest.mark.parametrize("state", ["accepted", "Approved", "", 3, ["approved"]])
def test_review_with_another_state_is_422(client, records, state):
    response = review(client, records["01"], "admin", state)
    assert response.status_code == 422
    assert "reviewState" in response.get_json()["fields"]
    assert client.get(records["01"], auth=auth("admin")).get_json()["reviewState"] is None


def test_review_without_a_state_is_422_and_a_non_object_body_400(client, records):
    assert client.patch(records["01"], json={}, auth=auth("admin")).status_code == 422
    assert client.patch(records["01"], json=["approved"], auth=auth("admin")).status_code == 400


@pytest.mark.parametrize("user", ["analyst", "trainer", "statistician"])
def test_review_by_a_role_that_does_not_review_is_403(client, records, user):
    assert review(client, records["01"], user, "approved").status_code == 403
    assert client.get(records["01"], auth=auth("admin")).get_json()["reviewState"] is None


def test_review_of_a_record_outside_the_callers_provinces_is_404(client, records):
    assert review(client, records["01"], "officer-05", "approved").status_code == 404
    assert review(client, records["05"], "officer-05", "approved").status_code == 200
    assert review(client, f"{FORM}/submissions/uuid:nothing", "admin", "approved").status_code == 404
    assert client.get(records["01"], auth=auth("admin")).get_json()["reviewState"] is None


def test_review_is_audited_with_the_old_and_new_state_and_no_data(client, db_session, records):
    review(client, records["01"], "officer", "hasIssues")
    review(client, records["01"], "officer", "approved")
    events = audit_events(db_session, "submission.review")
    assert [(e.details["old"], e.details["new"]) for e in events] == [
        ("received", "hasIssues"),
        ("hasIssues", "approved"),
    ]
    assert all(e.resource.startswith("submission:") and NAME not in json.dumps(e.details) for e in events)


# --- comments -------------------------------------------------------------------------------------------------


def test_comments_round_trip_newest_first_in_centrals_shape(client, records):
    first = comment(client, records["01"], "officer", COMMENT)
    assert first.status_code == 200, first.data
    assert comment(client, records["01"], "admin", "Second note").status_code == 200
    created = first.get_json()
    assert created["body"] == COMMENT and created["redacted"] is False and created["createdAt"].endswith("Z")
    listed = client.get(f"{records['01']}/comments", auth=auth("officer")).get_json()
    assert [c["body"] for c in listed] == ["Second note", COMMENT]
    assert listed[1]["actorId"] == created["actorId"] and listed[0]["actorId"] != created["actorId"]
    assert client.get(f"{records['05']}/comments", auth=auth("admin")).get_json() == []


def test_comment_bodies_are_redacted_for_a_role_without_identities(client, records):
    comment(client, records["01"], "officer", COMMENT)
    response = client.get(f"{records['01']}/comments", auth=auth("analyst"))
    assert response.status_code == 200
    [shown] = response.get_json()
    assert shown["body"] == REDACTED_COMMENT and shown["redacted"] is True and shown["actorId"] is not None
    assert "ສົມໃຈ" not in response.get_data(as_text=True)


@pytest.mark.parametrize("user", ["trainer", "statistician"])
def test_comments_are_refused_to_roles_that_read_no_records(client, records, user):
    assert client.get(f"{records['01']}/comments", auth=auth(user)).status_code == 403


@pytest.mark.parametrize("user", ["analyst", "trainer", "statistician"])
def test_comment_by_a_role_that_does_not_review_is_403(client, records, user):
    assert comment(client, records["01"], user, "A note").status_code == 403
    assert client.get(f"{records['01']}/comments", auth=auth("admin")).get_json() == []


def test_comments_of_a_record_outside_the_callers_provinces_are_404(client, records):
    assert comment(client, records["01"], "officer-05", "A note").status_code == 404
    assert client.get(f"{records['01']}/comments", auth=auth("officer-05")).status_code == 404
    assert comment(client, records["05"], "officer-05", "A note").status_code == 200
    assert client.get(f"{records['05']}/comments", auth=auth("officer-05")).status_code == 200


@pytest.mark.parametrize("body", ["", "   \n", "x" * 10_001, None, 7])
def test_comment_with_a_bad_body_is_422(client, records, body):
    response = comment(client, records["01"], "admin", body)
    assert response.status_code == 422 and "body" in response.get_json()["fields"]


def test_comment_of_the_longest_length_is_kept_whole(client, records):
    assert comment(client, records["01"], "admin", "ສ" * 10_000).status_code == 200
    [kept] = client.get(f"{records['01']}/comments", auth=auth("admin")).get_json()
    assert kept["body"] == "ສ" * 10_000


def test_comment_with_a_nul_is_400(client, records):
    assert comment(client, records["01"], "admin", "a\x00b").status_code == 400


def test_comments_are_audited_without_their_text(client, db_session, records):
    comment(client, records["01"], "officer", COMMENT)
    client.get(f"{records['01']}/comments", auth=auth("analyst"))
    [created] = audit_events(db_session, "comment.create")
    [read] = audit_events(db_session, "comment.read")
    assert created.resource == read.resource and created.resource.startswith("submission:")
    assert read.details == {"count": 1}
    for event in (created, read):
        assert "ສົມໃຈ" not in json.dumps(event.details, ensure_ascii=False) and "shelter" not in json.dumps(
            event.details
        )
