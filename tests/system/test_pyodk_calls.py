"""Every call of pyodk 1.3.0's public API that Central supports (entities included), run unchanged against a live
gunicorn as each of the six roles: what a role may do answers Central's shapes (pyodk's models read them),
what it may not is a clean 403 with the project's JSON error, never a broken client.

One server per database for the whole module (tests/support/central.py); each test makes its own records and
forms, so the tests do not depend on one another's order.
"""

from __future__ import annotations

import logging
import re
import uuid

import pytest
import requests
from pyodk._endpoints.form_drafts import FormDraftService
from pyodk._endpoints.project_app_users import ProjectAppUserService
from pyodk.errors import PyODKError

from ingest.records.review import REDACTED_COMMENT
from tests.conftest import make_instance
from tests.support.central import (
    HTCDS_STYLE,
    PASSWORD,
    ROLES,
    Central,
    email_of,
    private_database,
    start_central,
    without_form_id,
)
from tests.support.live import ROOT

LOG = logging.getLogger(__name__)
FORM = "sample_case"
#: Who may do what (ingest/access.py): the roles that manage forms, read records, send records, review them.
TRAINERS = {"admin", "trainer"}
READERS = {"admin", "case-officer", "provincial-officer", "analyst"}
SUBMITTERS = {"admin", "case-officer", "provincial-officer"}
REVIEWERS = SUBMITTERS


@pytest.fixture(scope="module")
def central(database_url, tmp_path_factory):
    """A live server with a user of every role and their pyodk clients, on a database of its own."""
    folder = tmp_path_factory.mktemp("central")
    server = start_central(private_database(database_url, folder, "pyodk_calls"), folder)
    yield server
    server.close()


def refused(call, *args, **kwargs) -> None:
    """Assert that a pyodk call is refused with a clean 403 in the project's JSON error shape."""
    with pytest.raises(PyODKError) as caught:
        call(*args, **kwargs)
    response = caught.value.args[1]
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == 403 and caught.value.is_central_error(403.1), body


def read(odk, path: str):
    """GET a path below /v1/ with a pyodk client's session, as pyodk's own calls do (an error: PyODKError)."""
    return odk.session.response_or_error("GET", path, logger=LOG).json()


def sent(central: Central, **answers) -> str:
    """Send a record of the sample form from the tablet and return its instance ID."""
    instance_id = f"uuid:{uuid.uuid4()}"
    assert central.tablet.submit(make_instance(instance_id, **answers)).status_code == 201
    return instance_id


def test_read_calls_as_each_role(central):
    instance_id = sent(central, name="Read Person")
    for role in ROLES:
        odk = central.clients[role]
        assert [p.name for p in odk.projects.list()] == ["Lao PDR trafficking cases"], role
        form = odk.forms.get(FORM)
        assert (form.xmlFormId, form.state, form.projectId) == (FORM, "open", 1), role
        assert FORM in {f.xmlFormId for f in odk.forms.list()}, role
        assert odk.forms.get_xml(FORM).startswith("<?xml"), role
        [csv] = read(odk, f"projects/1/forms/{FORM}/attachments")
        assert (csv["name"], csv["type"], csv["datasetExists"]) == ("provinces.csv", "file", False), role
        if role not in READERS:
            refused(odk.submissions.list, form_id=FORM)
            refused(odk.submissions.get_table, form_id=FORM)
            refused(odk.submissions.list_comments, instance_id, form_id=FORM)
            continue
        assert instance_id in {s.instanceId for s in odk.submissions.list(form_id=FORM)}, role
        record = odk.submissions.get(instance_id, form_id=FORM)
        assert record.instanceId == instance_id and record.submitterId > 0, role
        [row] = odk.submissions.get_table(form_id=FORM, filter=f"__id eq '{instance_id}'")["value"]
        # An analyst does not see identities: the sensitive name comes as null, as in every other read.
        assert row["full_name"] == (None if role == "analyst" else "Read Person"), role
        assert row["__system"]["deletedAt"] is None, role


def test_forms_create_update_and_publish_as_each_role(central, tmp_path):
    sheet = without_form_id(HTCDS_STYLE, tmp_path / "htcds_case_form.xlsx")
    for role in (r for r in ROLES if r not in TRAINERS):
        refused(central.clients[role].forms.create, sheet)
        refused(central.clients[role].forms.update, FORM, definition=sheet)
    odk = central.clients["trainer"]
    # IOM's HTCDS XLSForm gives no form_id: it is published under its file name (the fallback header).
    created = odk.forms.create(sheet)
    assert (created.xmlFormId, created.projectId, created.version) == ("htcds_case_form", 1, "1")
    assert created.keyId is None and created.enketoId is None and created.createdAt is not None
    published = odk.forms.get("htcds_case_form")
    assert published.state == "open" and published.publishedAt is not None and published.hash == created.hash
    # A second form without form_id, under another name: its own form, no 409.
    second = odk.forms.create(without_form_id(HTCDS_STYLE, tmp_path / "htcds_case_form_2.xlsx"))
    assert second.xmlFormId == "htcds_case_form_2"
    # An XForm uploaded as XML (Content-Type application/xml), as Central takes it, with the media it needs
    # (this server publishes no form whose media are missing: tablets would fail on it).
    xml = odk.forms.get_xml(FORM).replace(f'id="{FORM}"', 'id="sample_case_xml"', 1)
    provinces = ROOT / "tests" / "data" / "media" / "provinces.csv"
    from_xml = odk.forms.create(xml, attachments=[str(provinces)])
    assert (from_xml.xmlFormId, from_xml.version) == ("sample_case_xml", "2026112901")
    assert odk.forms.get("sample_case_xml").publishedAt is not None
    # A new version from XML, then a new version with only its media (a copy of the published XForm).
    odk.forms.update("sample_case_xml", definition=xml.replace('version="2026112901"', 'version="2026120601"', 1))
    assert odk.forms.get("sample_case_xml").version == "2026120601"
    odk.forms.update("sample_case_xml", attachments=[str(provinces)], version_updater=lambda v: f"{v}-media")
    updated = odk.forms.get("sample_case_xml")
    assert updated.version == "2026120601-media"
    assert f'version="{updated.version}"' in odk.forms.get_xml("sample_case_xml")
    [media] = read(odk, "projects/1/forms/sample_case_xml/attachments")
    assert media["exists"] and media["blobExists"] and re.fullmatch(r"[0-9a-f]{32}", media["hash"])
    # The draft service on its own: create (no body: a copy of the published version), list media, publish.
    drafts = FormDraftService(session=odk.session, default_project_id=1)
    assert drafts.create(form_id="sample_case_xml") is True
    listed = read(odk, "projects/1/forms/sample_case_xml/draft/attachments")
    assert [(a["name"], a["exists"]) for a in listed] == [("provinces.csv", True)]
    assert drafts.publish(form_id="sample_case_xml", version="2026120602") is True
    assert odk.forms.get("sample_case_xml").version == "2026120602"
    for role in ROLES:
        if role not in TRAINERS:
            refused(FormDraftService(session=central.clients[role].session).publish, FORM, 1)


def test_app_users_as_each_role(central):
    for role in ROLES:
        odk = central.clients[role]
        service = ProjectAppUserService(session=odk.session, default_project_id=1)
        if role not in TRAINERS:
            refused(service.list)
            refused(service.create, f"Tablet of {role}")
            refused(odk.projects.create_app_users, [f"Desk of {role}"], forms=[FORM])
            continue
        made = service.create(f"Tablet of {role}")
        assert (made.type, made.projectId, made.deletedAt) == ("field_key", 1, None) and made.token
        assert made.displayName in {u.displayName for u in service.list()}
        users = list(odk.projects.create_app_users([f"Desk A of {role}", f"Desk B of {role}"], forms=[FORM]))
        assert [u.displayName for u in users] == [f"Desk A of {role}", f"Desk B of {role}"]
        # Assigned the one form: its device lists exactly that form.
        detail = read(odk, "projects/1/app-users")
        assert {u["displayName"]: u["forms"] for u in detail if u["id"] == users[0].id} == {
            users[0].displayName: [FORM]
        }
        # Created again: pyodk skips the names that exist.
        assert list(odk.projects.create_app_users([f"Desk A of {role}"])) == []


def test_submission_writes_as_each_role(central):
    for role in ROLES:
        odk = central.clients[role]
        if role not in SUBMITTERS:
            refused(odk.submissions.create, make_instance().decode(), form_id=FORM)
            continue
        instance_id = f"uuid:{uuid.uuid4()}"
        created = odk.submissions.create(make_instance(instance_id, name="Write Person").decode(), form_id=FORM)
        assert created.instanceId == instance_id and created.submitterId > 0
        edit_id = f"uuid:{uuid.uuid4()}"
        edit = make_instance(edit_id, age="31", deprecated_id=instance_id).decode()
        odk.submissions.edit(instance_id, edit, form_id=FORM, comment="Age corrected at the follow-up.")
        # Exactly once: the same edit again stores nothing new.
        odk.submissions.edit(instance_id, edit, form_id=FORM)
        record = odk.submissions.get(instance_id, form_id=FORM)
        assert record.reviewState == "edited"
        versions = read(odk, f"projects/1/forms/{FORM}/submissions/{instance_id}/versions")
        assert [v["instanceId"] for v in versions] == [edit_id, instance_id]
        odk.submissions.review(instance_id, "approved", form_id=FORM, comment="Checked.")
        assert odk.submissions.get(instance_id, form_id=FORM).reviewState == "approved"
        comments = odk.submissions.list_comments(instance_id, form_id=FORM)
        assert [c.body for c in comments] == ["Checked.", "Age corrected at the follow-up."]
        [row] = odk.submissions.get_table(form_id=FORM, filter=f"__id eq '{instance_id}'")["value"]
        assert row["age"] == 31 and row["__system"]["edits"] == 1
        # The analyst reads the comments redacted, as strings pyodk's model takes.
        redacted = central.clients["analyst"].submissions.list_comments(instance_id, form_id=FORM)
        assert [c.body for c in redacted] == [REDACTED_COMMENT, REDACTED_COMMENT]
        for other in ("analyst", "trainer", "statistician"):
            refused(central.clients[other].submissions.review, instance_id, "rejected", form_id=FORM)
            refused(central.clients[other].submissions.edit, instance_id, edit, form_id=FORM)
            refused(central.clients[other].submissions.add_comment, instance_id, "x", form_id=FORM)
    # Each edit is audited once, by the user who made it.
    audits = read(central.clients["admin"], "audits?action=submission.edit")
    assert len(audits) == len(SUBMITTERS)


def test_odata_calls_as_each_role(central):
    instance_id = sent(central, name="OData Person")
    url = f"{central.live.url}/v1/projects/1/forms/{FORM}.svc"
    for role in sorted(READERS):
        odk = central.clients[role]
        table = odk.submissions.get_table(
            form_id=FORM, filter="__system/submissionDate le now() and hour(__system/submissionDate) ge 0"
        )
        assert instance_id in {r["__id"] for r in table["value"]}, role
        minute = odk.submissions.get_table(
            form_id=FORM, filter="minute(__system/submissionDate) lt 60 and second(__system/submissionDate) lt 61"
        )
        assert {r["__id"] for r in minute["value"]} == {r["__id"] for r in table["value"]}, role
        routes = odk.submissions.get_table(
            form_id=FORM,
            table_name="Submissions.route",
            filter=f"$root/Submissions/__id eq '{instance_id}' and $root/Submissions/__system/submissionDate lt now()",
        )["value"]
        assert [r["place"] for r in routes] == ["Vientiane", "Bangkok"], role
        assert not odk.submissions.get_table(form_id=FORM, filter="__system/submissionDate gt now()")["value"]
    auth = (email_of("analyst"), PASSWORD)
    service = requests.get(url, auth=auth, timeout=30)
    assert service.headers["Content-Type"] == "application/json; odata.metadata=minimal"
    assert service.headers["OData-Version"] == "4.0"
    search = requests.get(f"{url}/Submissions", params={"$search": "Person"}, auth=auth, timeout=30)
    assert search.status_code == 501 and "$search" in search.json()["message"]
    unknown = requests.get(f"{url}/Submissions", params={"$apply": "x"}, auth=auth, timeout=30)
    assert unknown.status_code == 501 and unknown.json()["code"] == 501.1
    function = requests.get(f"{url}/Submissions", params={"$filter": "startswith(age,'3')"}, auth=auth, timeout=30)
    assert function.status_code == 501 and function.json()["code"] == 501.4
    for role in ROLES:
        if role not in READERS:
            refused(central.clients[role].submissions.get_table, form_id=FORM)


def test_draft_odata_holds_the_drafts_test_records_for_form_managers_only(central):
    odk = central.clients["trainer"]
    FormDraftService(session=odk.session, default_project_id=1).create(form_id=FORM)
    draft = read(odk, f"projects/1/forms/{FORM}/draft")
    test_id = f"uuid:{uuid.uuid4()}"
    test_tablet = type(central.tablet)(draft["testUrl"])
    assert test_tablet.submit(make_instance(test_id, name="Test Person")).status_code == 201
    for role in ROLES:
        client = central.clients[role]
        if role not in TRAINERS:
            refused(read, client, f"projects/1/forms/{FORM}/draft.svc/Submissions")
            continue
        rows = read(client, f"projects/1/forms/{FORM}/draft.svc/Submissions")["value"]
        # Test data is never real: shown unredacted, and apart from the form's real records.
        assert [(r["__id"], r["full_name"]) for r in rows] == [(test_id, "Test Person")], role
        real = central.clients["admin"].submissions.get_table(form_id=FORM, filter=f"__id eq '{test_id}'")
        assert real["value"] == []
    odk.session.response_or_error("DELETE", f"projects/1/forms/{FORM}/draft", logger=LOG)


#: Who may do what with entities: form managers make lists and properties, the roles that send records make and
#: change entities, administrators delete them, the roles that read records read them (in their provinces).
ENTITY_WRITERS = SUBMITTERS
ENTITY_DELETERS = {"admin"}


def test_entity_calls_as_each_role(central):
    """Every entity call of pyodk 1.3.0 (entity_lists.list/get/create/add_property, entities.list/create/
    create_many/update/delete/get_table/merge), as each role, against the live server."""
    name = "followups"
    trainer = central.clients["trainer"]
    made = trainer.entity_lists.create(entity_list_name=name, approval_required=False)
    assert (made.name, made.projectId, made.approvalRequired) == (name, 1, False)
    assert trainer.entity_lists.add_property("status", entity_list_name=name) is True
    for role in ROLES:
        odk = central.clients[role]
        assert name in {d.name for d in odk.entity_lists.list()}, role
        assert [p.name for p in odk.entity_lists.get(entity_list_name=name).properties] == ["status"], role
        if role not in TRAINERS:
            refused(odk.entity_lists.create, entity_list_name=f"list_of_{role.replace('-', '_')}")
            refused(odk.entity_lists.add_property, "district", entity_list_name=name)
    mine: dict[str, set[str]] = {}
    for role in ROLES:
        odk = central.clients[role]
        if role not in ENTITY_WRITERS:
            refused(odk.entities.create, label=f"Case of {role}", data={"status": "open"}, entity_list_name=name)
            refused(odk.entities.create_many, [{"label": "x", "status": "open"}], entity_list_name=name)
            continue
        created = odk.entities.create(label=f"Case of {role}", data={"status": "open"}, entity_list_name=name)
        assert (created.currentVersion.version, created.currentVersion.data) == (1, {"status": "open"}), role
        rows = [{"label": f"Bulk {i} of {role}", "status": "open"} for i in range(2)]
        assert odk.entities.create_many(rows, entity_list_name=name, source_size="2") is True, role
        updated = odk.entities.update(created.uuid, entity_list_name=name, data={"status": "seen"}, base_version=1)
        assert updated.currentVersion.version == 2 and updated.currentVersion.data == {"status": "seen"}, role
        with pytest.raises(PyODKError) as stale:
            odk.entities.update(created.uuid, entity_list_name=name, label="Late", base_version=1)
        assert stale.value.is_central_error(409.15), role
        forced = odk.entities.update(created.uuid, entity_list_name=name, label=f"Case of {role}!", force=True)
        assert forced.currentVersion.version == 3, role
        for other in ROLES:
            if other not in ENTITY_WRITERS:
                refused(central.clients[other].entities.update, created.uuid, entity_list_name=name, force=True)
        mine[role] = {e.uuid for e in odk.entities.list(entity_list_name=name) if e.creatorId == created.creatorId}
        assert len(mine[role]) == 3, role
    everyone = set().union(*mine.values())
    for role in ROLES:
        odk = central.clients[role]
        if role not in READERS:
            refused(odk.entities.list, entity_list_name=name)
            refused(odk.entities.get_table, entity_list_name=name)
            continue
        listed = odk.entities.list(entity_list_name=name)
        table = odk.entities.get_table(entity_list_name=name, count=True, select="__id,label,status,__system")
        # A provincial officer reads its province's entities only: those it placed there itself.
        expected = mine["provincial-officer"] if role == "provincial-officer" else everyone
        assert {e.uuid for e in listed} == expected == {r["__id"] for r in table["value"]}, role
        assert table["@odata.count"] == len(expected), role
        if role == "analyst":  # no identities: labels and properties hidden
            assert {e.currentVersion.label for e in listed} == {"[redacted]"}
            assert {(r["label"], r["status"]) for r in table["value"]} == {(None, None)}
            refused_filter = requests.get(
                f"{central.live.url}/v1/projects/1/datasets/{name}.svc/Entities",
                params={"$filter": "status eq 'open'"},
                auth=(email_of(role), PASSWORD),
                timeout=30,
            )
            assert refused_filter.status_code == 403
            continue
        page = odk.entities.get_table(entity_list_name=name, top=1, skip=1, filter="status eq 'open'")
        assert len(page["value"]) == 1 and page["value"][0]["status"] == "open", role
    # merge (as an administrator, who also manages lists): a new property, one update, one insert.
    admin = central.clients["admin"]
    source = [
        {"label": "Case of admin!", "status": "closed", "district": "0501"},
        {"label": "Merged newcomer", "status": "open", "district": "0502"},
    ]
    actions = admin.entities.merge(source, entity_list_name=name)
    assert len(actions.to_insert) == 1 and len(actions.to_update) == 1
    merged = {r["label"]: r for r in admin.entities.get_table(entity_list_name=name)["value"]}
    assert (merged["Case of admin!"]["status"], merged["Case of admin!"]["district"]) == ("closed", "0501")
    assert merged["Merged newcomer"]["__system"]["version"] == 1
    assert merged["Case of admin!"]["__system"]["version"] == 4
    # delete: administrators only.
    target = merged["Merged newcomer"]["__id"]
    for role in ROLES:
        if role not in ENTITY_DELETERS:
            refused(central.clients[role].entities.delete, target, entity_list_name=name)
    assert admin.entities.delete(target, entity_list_name=name) is True
    assert target not in {e.uuid for e in admin.entities.list(entity_list_name=name)}
