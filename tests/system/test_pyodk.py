"""pyodk, ODK's official Python client, driven unchanged against this server over HTTP."""

from __future__ import annotations

import uuid

import pytest
from pyodk.errors import PyODKError

from tests.conftest import make_instance


@pytest.fixture
def client(pyodk_client):
    """pyodk's client on a live server (tests/system/conftest.py)."""
    return pyodk_client


def test_pyodk_lists_projects_forms_and_submissions(client):
    instance_id = f"uuid:{uuid.uuid4()}"
    assert client.live.tablet.submit(make_instance(instance_id)).status_code == 201
    assert [p.name for p in client.projects.list()] == ["Lao PDR trafficking cases"]
    [form] = client.forms.list()
    assert (form.xmlFormId, form.version, form.state) == ("sample_case", "2026112901", "open")
    assert client.forms.get("sample_case").hash == form.hash
    [submission] = client.submissions.list(form_id="sample_case")
    assert submission.instanceId == instance_id and submission.deviceId == client.live.tablet.device_id
    assert client.submissions.get(instance_id, form_id="sample_case").instanceId == instance_id


def test_pyodk_creates_a_submission_with_an_attachment(client, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + bytes(40_000))
    instance_id = f"uuid:{uuid.uuid4()}"
    created = client.submissions.create(
        make_instance(instance_id).decode(), form_id="sample_case", attachments=[str(photo)], device_id="pyodk:test"
    )
    assert created.instanceId == instance_id
    import requests

    record = requests.get(
        f"{client.live.url}/v1/projects/1/forms/sample_case/submissions/{instance_id}", auth=client.staff, timeout=10
    ).json()
    assert (record["attachmentsExpected"], record["attachmentsPresent"]) == (1, 1)
    assert record["submitterType"] == "user" and record["deviceId"] == "pyodk:test"


def test_pyodk_submission_for_another_form_is_refused(client):
    with pytest.raises(PyODKError) as refused:
        client.submissions.create(make_instance(form_id="referral").decode(), form_id="sample_case")
    assert refused.value.is_central_error(400.8)  # Central's "unexpected value"


def test_pyodk_reads_our_error_codes_as_centrals(client):
    """pyodk's is_central_error() sees the same codes a Central server would send."""
    instance_id = f"uuid:{uuid.uuid4()}"
    client.submissions.create(make_instance(instance_id).decode(), form_id="sample_case")
    with pytest.raises(PyODKError) as clash:
        client.submissions.create(make_instance(instance_id, age="31").decode(), form_id="sample_case")
    assert clash.value.is_central_error(409.1) and clash.value.is_central_error("409.1")
    assert not clash.value.is_central_error(409.3)
    with pytest.raises(PyODKError) as missing:
        client.forms.get("no_such_form")
    assert missing.value.is_central_error(404.1)


def test_pyodk_reviews_a_submission_and_comments_on_it(client):
    instance_id = f"uuid:{uuid.uuid4()}"
    assert client.live.tablet.submit(make_instance(instance_id)).status_code == 201
    client.submissions.review(instance_id, "hasIssues", form_id="sample_case", comment="Check the age given.")
    assert client.submissions.get(instance_id, form_id="sample_case").reviewState == "hasIssues"
    added = client.submissions.add_comment(instance_id, "Age confirmed at the follow-up.", form_id="sample_case")
    assert added.body == "Age confirmed at the follow-up."
    comments = client.submissions.list_comments(instance_id, form_id="sample_case")
    assert [c.body for c in comments] == ["Age confirmed at the follow-up.", "Check the age given."]
    assert {c.actorId for c in comments} == {added.actorId}
    with pytest.raises(PyODKError):
        client.submissions.review(instance_id, "accepted", form_id="sample_case")
