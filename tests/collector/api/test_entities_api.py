"""Entity lists and entities over the JSON API and OData (issue 19), on SQLite and PostgreSQL: Central's shapes
(checked with pyodk 1.3.0's own models), the province scope and consent of every read, redaction for roles
without identities, the audit of each identifiable read, and clean errors for hostile requests."""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree

import pytest
from pyodk._endpoints.entities import Entity as PyodkEntity
from pyodk._endpoints.entity_lists import EntityList
from sqlalchemy import select

from ingest.entities.reads import REDACTED
from ingest.models import AuditEvent
from tests.support.entity_lists import ENTITIES, NAME, USERS, make_users, seed

LIST = "/v1/projects/1/datasets/cases"
SVC = f"{LIST}.svc"
BY_UUID = {e.uuid: e.key for e in ENTITIES}


@pytest.fixture
def users(app, db_session):
    seed(db_session)
    return make_users(db_session)


def _keys(rows, field="uuid") -> set[str]:
    return {BY_UUID[r[field]] for r in rows}


def test_lists_are_read_by_every_staff_role_in_centrals_shape(client, users):
    for who in USERS:
        listed = client.get("/v1/projects/1/datasets", auth=users[who])
        assert listed.status_code == 200, who
        [one] = [EntityList(**d) for d in listed.get_json()]
        assert (one.name, one.projectId, one.approvalRequired) == ("cases", 1, False)
        body = client.get(LIST, auth=users[who]).get_json()
        parsed = EntityList(**body)
        assert [p.name for p in parsed.properties] == ["province", "status"]
        assert body["sourceForms"] == [] and body["linkedForms"] == []
        assert body["properties"][0]["odataName"] == "province"


def test_extended_metadata_counts_only_what_the_caller_may_see(client, users):
    headers = {"X-Extended-Metadata": "true"}
    for who, (_role, _provinces, sees) in USERS.items():
        [body] = client.get("/v1/projects/1/datasets", auth=users[who], headers=headers).get_json()
        assert body["entities"] == len(sees or ()), who
        assert body["conflicts"] == 0


def test_each_role_lists_the_entities_of_its_scope(client, users):
    for who, (_role, _provinces, sees) in USERS.items():
        response = client.get(f"{LIST}/entities", auth=users[who])
        if sees is None:
            assert response.status_code == 403, who
            continue
        assert response.status_code == 200, who
        rows = response.get_json()
        assert _keys(rows) == sees, who
        for row in rows:
            entity = PyodkEntity(**row)  # pyodk's model reads it
            assert entity.currentVersion.version == 1 and entity.conflict is None
            assert "data" not in row["currentVersion"]  # Central's list leaves the data out
            label = REDACTED if who == "analyst" else f"{NAME} {BY_UUID[row['uuid']]}"
            assert row["currentVersion"]["label"] == label


def test_one_entity_with_its_data_in_scope_only(client, users):
    for who, (_role, _provinces, sees) in USERS.items():
        for item in ENTITIES:
            response = client.get(f"{LIST}/entities/{item.uuid}", auth=users[who])
            if sees is None:
                assert response.status_code == 403, who
                continue
            if item.key not in sees:
                assert response.status_code == 404, (who, item.key)
                continue
            body = response.get_json()
            PyodkEntity(**body)
            data = body["currentVersion"]["data"]
            if who == "analyst":
                assert data == {"province": None, "status": None}
            else:
                assert data == {"province": item.province, "status": "open"}
                assert body["currentVersion"]["label"] == f"{NAME} {item.key}"
            assert body["province"] == item.province


def test_versions_and_the_audit_of_each_read(client, users, db_session):
    item = ENTITIES[0]
    [version] = client.get(f"{LIST}/entities/{item.uuid}/versions", auth=users["admin"]).get_json()
    assert (version["version"], version["current"], version["baseVersion"]) == (1, True, None)
    assert version["data"] == {"province": "01", "status": "open"} and version["source"] == {"type": "api"}
    client.get(f"{LIST}/entities/{item.uuid}", auth=users["admin"])
    client.get(f"{LIST}/entities", auth=users["officer-05"])
    client.get(f"{LIST}/entities.csv", auth=users["case-officer"])
    client.get(f"{SVC}/Entities", auth=users["analyst"])
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action.like("entity.%"))).all()
    seen = [(e.action, e.resource, e.details.get("count"), e.details.get("format")) for e in events]
    assert seen == [
        ("entity.read_versions", f"entity:{item.uuid}", 1, None),
        ("entity.read", f"entity:{item.uuid}", None, None),
        ("entity.list", "dataset:cases", 2, "json"),
        ("entity.list", "dataset:cases", 2, "csv"),
        ("entity.list", "dataset:cases", 2, "odata"),
    ]
    assert all(NAME not in str(e.details) for e in events)


def test_entities_csv_is_centrals_scoped_and_redacted(client, users):
    response = client.get(f"{LIST}/entities.csv", auth=users["officer-05"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["__id", "label", "province", "status", "__createdAt", "__creatorId", "__creatorName"] + [
        "__updates",
        "__updatedAt",
        "__version",
    ]
    assert {BY_UUID[r["__id"]] for r in rows} == {"E05", "W05"}
    assert all(r["label"].startswith(NAME) and r["__version"] == "1" and r["__updates"] == "0" for r in rows)
    hidden = list(csv.DictReader(io.StringIO(client.get(f"{LIST}/entities.csv", auth=users["analyst"]).text)))
    assert {r["label"] for r in hidden} == {""} and {r["province"] for r in hidden} == {""}
    assert client.get(f"{LIST}/entities.csv", auth=users["statistician"]).status_code == 403


def test_deleted_entities_are_listed_only_when_asked(client, users, db_session):
    from ingest.db import utcnow
    from ingest.entity_models import Entity

    entity = db_session.scalar(select(Entity).where(Entity.uuid == ENTITIES[0].uuid))
    entity.deleted_at = utcnow()
    db_session.commit()
    assert _keys(client.get(f"{LIST}/entities", auth=users["admin"]).get_json()) == {"E05", "W05"}
    deleted = client.get(f"{LIST}/entities?deleted=true", auth=users["admin"]).get_json()
    assert _keys(deleted) == {"E01"} and deleted[0]["deletedAt"] is not None
    assert client.get(f"{LIST}/entities/{ENTITIES[0].uuid}", auth=users["admin"]).status_code == 404


def test_hostile_reads_are_clean_404s(client, users):
    admin = users["admin"]
    for url in (
        "/v1/projects/1/datasets/nope",
        "/v1/projects/1/datasets/nope/entities",
        "/v1/projects/9/datasets",
        f"{LIST}/entities/not-a-uuid",
        f"{LIST}/entities/{'0' * 5000}",
        f"{LIST}/entities/00000000-0000-4000-8000-0000000000ff",
        "/v1/projects/1/datasets/nope.svc/Entities",
        f"{SVC}/Nothing",
        f"{SVC}/Entities('x')",
        f"{SVC}/Entities('00000000-0000-4000-8000-0000000000ff')",
    ):
        response = client.get(url, auth=admin)
        assert response.status_code == 404, (url, response.status_code)
        assert response.get_json()["code"] == 404.1, url
    # A NUL in the URL is refused before any view (the app's guard), as everywhere.
    assert client.get(f"{LIST}/entities/%00/versions", auth=admin).status_code == 400


# --- OData ---------------------------------------------------------------------------------------------------


def test_service_document_and_metadata(client, users):
    body = client.get(SVC, auth=users["case-officer"])
    assert body.headers["OData-Version"] == "4.0"
    assert body.get_json()["value"] == [{"name": "Entities", "kind": "EntitySet", "url": "Entities"}]
    edmx = client.get(f"{SVC}/$metadata", auth=users["case-officer"])
    root = ElementTree.fromstring(edmx.data)
    names = [p.get("Name") for p in root.iter("{http://docs.oasis-open.org/odata/ns/edm}Property")]
    assert {"__id", "label", "__system", "province", "status", "createdAt", "creatorId", "version"} <= set(names)
    for who in ("trainer", "statistician"):
        assert client.get(SVC, auth=users[who]).status_code == 403


def test_odata_entities_scoped_with_query_options(client, users):
    scoped = client.get(f"{SVC}/Entities?$count=true", auth=users["officer-05"]).get_json()
    rows = scoped["value"]
    assert _keys(rows, "__id") == {"E05", "W05"} and scoped["@odata.count"] == 2  # the count is scoped too
    row = rows[0]
    assert set(row["__system"]) == {
        "createdAt",
        "creatorId",
        "creatorName",
        "updates",
        "updatedAt",
        "version",
        "conflict",
        "deletedAt",
    }
    assert (row["province"], row["status"], row["__system"]["version"]) == ("05", "open", 1)
    admin = users["admin"]
    page = client.get(f"{SVC}/Entities?$top=2&$count=true&$orderby=__id desc", auth=admin).get_json()
    assert [BY_UUID[r["__id"]] for r in page["value"]] == ["W05", "E05"] and page["@odata.count"] == 3
    assert "%24skip=2" in page["@odata.nextLink"]
    rest = client.get(f"{SVC}/Entities?$top=2&$skip=2&$orderby=__id desc", auth=admin).get_json()
    assert [BY_UUID[r["__id"]] for r in rest["value"]] == ["E01"] and "@odata.nextLink" not in rest
    found = client.get(f"{SVC}/Entities?$filter=province eq '05' and __system/version ge 1", auth=admin).get_json()
    assert _keys(found["value"], "__id") == {"E05", "W05"}
    labelled = client.get(f"{SVC}/Entities?$filter=contains(label,'E01')", auth=admin).get_json()
    assert _keys(labelled["value"], "__id") == {"E01"}
    recent = client.get(f"{SVC}/Entities?$filter=__system/createdAt le now()&$select=__id,label", auth=admin)
    assert [set(r) for r in recent.get_json()["value"]] == [{"__id", "label"}] * 3
    one = client.get(f"{SVC}/Entities('{ENTITIES[1].uuid}')?$select=__id,__system/version", auth=admin).get_json()
    assert one["value"] == [{"__id": ENTITIES[1].uuid, "__system": {"version": 1}}]


def test_odata_for_a_role_without_identities(client, users):
    analyst = users["analyst"]
    rows = client.get(f"{SVC}/Entities", auth=analyst).get_json()["value"]
    assert {(r["label"], r["province"]) for r in rows} == {(None, None)}
    for expression in ("label eq 'x'", "province eq '05'"):
        response = client.get(f"{SVC}/Entities?$filter={expression}", auth=analyst)
        assert response.status_code == 403 and response.get_json()["code"] == 403.52, expression
    assert client.get(f"{SVC}/Entities?$orderby=label", auth=analyst).status_code == 403
    by_date = client.get(f"{SVC}/Entities?$filter=__system/createdAt le now()", auth=analyst).get_json()
    assert len(by_date["value"]) == 2


#: Hostile OData options, each with the status and code it must get.
HOSTILE = (
    ("$filter=nope eq '1'", 400, 400.23),
    ("$filter=province eq", 400, 400.18),
    ("$filter=__system/reviewState eq 'x'", 501, 501.5),
    ("$filter=startswith(label,'x')", 501, 501.4),
    ("$select=nope", 400, 400.23),
    ("$top=-1", 400, 400.8),
    ("$skip=x", 400, 400.8),
    ("$search=x", 501, 501.1),
    ("$expand=*", 501, 501.1),
    ("$orderby=label;drop", 400, 400.8),
)


def test_odata_hostile_options_are_clean_errors(client, users):
    for query, status, code in HOSTILE:
        response = client.get(f"{SVC}/Entities?{query}", auth=users["admin"])
        assert response.status_code == status, (query, response.data)
        assert response.get_json()["code"] == code, query


# --- writes --------------------------------------------------------------------------------------------------

NEW = "00000000-0000-4000-8000-0000000000aa"


def test_create_update_and_delete_as_central(client, users, db_session):
    officer = users["officer-05"]
    created = client.post(
        f"{LIST}/entities",
        json={"uuid": NEW.upper(), "label": "New case", "data": {"status": "open"}},
        auth=officer,
        headers={"User-Agent": "pyodk test"},
    )
    assert created.status_code == 200, created.data
    body = created.get_json()
    entity = PyodkEntity(**body)
    assert entity.uuid == NEW and entity.currentVersion.version == 1 and body["province"] == "05"
    assert body["currentVersion"]["data"] == {"province": "", "status": "open"}
    assert body["currentVersion"]["userAgent"] == "pyodk test"
    # Province 01 does not see it; a stale base version is Central's 409.15; force applies it.
    assert client.get(f"{LIST}/entities/{NEW}", auth=users["officer-01"]).status_code == 404
    url = f"{LIST}/entities/{NEW}"
    changed = client.patch(f"{url}?baseVersion=1", json={"data": {"status": "closed"}}, auth=officer)
    assert changed.status_code == 200 and changed.get_json()["currentVersion"]["version"] == 2
    stale = client.patch(f"{url}?baseVersion=1", json={"label": "Renamed"}, auth=officer)
    assert stale.status_code == 409 and stale.get_json()["code"] == 409.15
    forced = client.patch(f"{url}?force=true", json={"label": "Renamed"}, auth=officer).get_json()
    assert (forced["currentVersion"]["label"], forced["currentVersion"]["version"]) == ("Renamed", 3)
    assert forced["currentVersion"]["data"] == {"province": "", "status": "closed"}
    missing = client.patch(url, json={"label": "x"}, auth=officer)
    assert missing.status_code == 400 and missing.get_json()["code"] == 400.2
    versions = client.get(f"{url}/versions", auth=officer).get_json()
    assert [(v["version"], v["baseVersion"], v["dataReceived"]) for v in versions] == [
        (1, None, {"status": "open", "label": "New case"}),
        (2, 1, {"status": "closed"}),
        (3, 2, {"label": "Renamed"}),
    ]
    # Another province's officer cannot change it (not found), nor can an analyst or trainer (403).
    assert client.patch(f"{url}?force=true", json={"label": "x"}, auth=users["officer-01"]).status_code == 404
    for who in ("analyst", "trainer", "statistician"):
        assert client.patch(f"{url}?force=true", json={"label": "x"}, auth=users[who]).status_code == 403
        assert client.post(f"{LIST}/entities", json={"label": "x"}, auth=users[who]).status_code == 403
    # Deleting is for administrators.
    assert client.delete(url, auth=officer).status_code == 403
    assert client.delete(url, auth=users["admin"]).get_json() == {"success": True}
    assert client.get(url, auth=officer).status_code == 404
    assert client.delete(url, auth=users["admin"]).status_code == 404
    actions = [
        e.action
        for e in db_session.scalars(select(AuditEvent).where(AuditEvent.resource == f"entity:{NEW}")).all()
        if e.action != "entity.read_versions"
    ]
    assert actions == ["entity.create", "entity.update.version", "entity.update.version", "entity.delete"]


def test_bulk_create_is_all_or_nothing(client, users):
    admin = users["admin"]
    rows = [{"label": f"Bulk {i}", "data": {"province": "01", "status": "open"}} for i in range(3)]
    body = {"entities": rows, "source": {"name": "cases.csv", "size": "3"}, "province": "01"}
    assert client.post(f"{LIST}/entities", json=body, auth=admin).get_json() == {"success": True}
    listed = client.get(f"{LIST}/entities", auth=users["officer-01"]).get_json()
    assert len(listed) == 4  # E01 and the three new ones, placed in province 01
    bad = {"entities": [*rows, {"label": "x", "data": {"nope": "1"}}]}
    response = client.post(f"{LIST}/entities", json=bad, auth=admin)
    assert response.status_code == 400 and response.get_json()["code"] == 400.28
    assert len(client.get(f"{LIST}/entities", auth=admin).get_json()) == 6  # nothing of the refused batch


def test_hostile_writes_are_clean_errors(client, users):
    admin, officer = users["admin"], users["officer-05"]
    url = f"{LIST}/entities"
    cases = [
        (url, {"label": "x", "data": {"nope": "1"}}, 400, 400.28),
        (url, {"label": "x", "data": {"status": 5}}, 400, 400.28),
        (url, {"label": "x", "data": ["status"]}, 400, 400.28),
        (url, {"label": "", "data": {}}, 400, 400.28),
        (url, {"label": 5}, 400, 400.28),
        (url, {"uuid": "not-a-uuid", "label": "x"}, 400, 400.28),
        (url, {"uuid": ENTITIES[0].uuid, "label": "x"}, 409, 409.3),
        (url, {"entities": "x"}, 400, 400.28),
        (url, {"entities": []}, 400, 400.28),
        (url, {"label": "x", "province": "5"}, 400, 400.28),
        (f"{url}/{ENTITIES[1].uuid}?baseVersion=x", {"label": "x"}, 400, 400.8),
        (f"{url}/{ENTITIES[1].uuid}?force=true", {"data": {"nope": "1"}}, 400, 400.28),
        (f"{url}/{ENTITIES[1].uuid}?force=true", {"label": ["x"]}, 400, 400.28),
        (f"{url}/00000000-0000-4000-8000-0000000000ff?force=true", {"label": "x"}, 404, 404.1),
        ("/v1/projects/1/datasets/nope/entities", {"label": "x"}, 404, 404.1),
    ]
    for target, body, status, code in cases:
        send = client.patch if "?" in target else client.post
        response = send(target, json=body, auth=admin)
        assert response.status_code == status, (target, body, response.data)
        assert response.get_json()["code"] == code, (target, body)
    assert client.post(url, data="[1,", content_type="application/json", auth=admin).status_code == 400
    assert client.post(url, json=[1], auth=admin).get_json()["code"] == 400.1
    outside = client.post(url, json={"label": "x", "province": "01"}, auth=officer)
    assert outside.status_code == 403 and outside.get_json()["code"] == 403.51
    huge = client.post(url, data=b"{" + b" " * (9 * 1024 * 1024) + b"}", content_type="application/json", auth=admin)
    assert huge.status_code == 413


def test_lists_and_properties_are_managed_by_trainers(client, users):
    trainer = users["trainer"]
    made = client.post("/v1/projects/1/datasets", json={"name": "households", "approvalRequired": True}, auth=trainer)
    assert made.status_code == 200, made.data
    assert EntityList(**made.get_json()).approvalRequired is True
    again = client.post("/v1/projects/1/datasets", json={"name": "households"}, auth=trainer)
    assert again.status_code == 409 and again.get_json()["code"] == 409.3
    bad = client.post("/v1/projects/1/datasets", json={"name": "has space"}, auth=trainer)
    assert bad.status_code == 400
    props = f"{LIST}/properties"
    assert client.post(props, json={"name": "district"}, auth=trainer).get_json() == {"success": True}
    assert client.post(props, json={"name": "district"}, auth=trainer).status_code == 409
    for name in ("label", "__id", "1x", "", None):
        assert client.post(props, json={"name": name}, auth=trainer).status_code == 400, name
    assert [p["name"] for p in client.get(LIST, auth=trainer).get_json()["properties"]] == [
        "province",
        "status",
        "district",
    ]
    patched = client.patch(LIST, json={"approvalRequired": True}, auth=trainer)
    assert patched.status_code == 200 and patched.get_json()["approvalRequired"] is True
    for body in ({}, {"approvalRequired": "yes"}):
        assert client.patch(LIST, json=body, auth=trainer).status_code == 400
    for who in ("case-officer", "analyst", "statistician", "officer-05"):
        assert client.patch(LIST, json={"approvalRequired": False}, auth=users[who]).status_code == 403
        assert client.post(props, json={"name": "x"}, auth=users[who]).status_code == 403
        assert client.post("/v1/projects/1/datasets", json={"name": "y"}, auth=users[who]).status_code == 403


def test_a_form_attachment_named_after_a_list_says_so(client, users, published_form, db_session):
    url = "/v1/projects/1/forms/sample_case/attachments"
    [before] = client.get(url, auth=users["trainer"]).get_json()
    assert (before["name"], before["datasetExists"]) == ("provinces.csv", False)
    from ingest.entities.datasets import ensure_dataset

    ensure_dataset(db_session, 1, "provinces")
    db_session.commit()
    [after] = client.get(url, auth=users["trainer"]).get_json()
    assert after["datasetExists"] is True


def test_a_list_the_server_keeps_is_read_but_not_written_over_the_api(client, users, db_session):
    from ingest.entity_models import Dataset

    kept = db_session.scalar(select(Dataset).where(Dataset.name == "cases"))
    kept.kind = "system"
    db_session.commit()
    admin = users["admin"]
    assert len(client.get(f"{LIST}/entities", auth=admin).get_json()) == 3
    for send, url, body in (
        (client.post, f"{LIST}/entities", {"label": "x"}),
        (client.patch, f"{LIST}/entities/{ENTITIES[0].uuid}?force=true", {"label": "x"}),
        (client.delete, f"{LIST}/entities/{ENTITIES[0].uuid}", None),
        (client.post, f"{LIST}/properties", {"name": "x"}),
        (client.patch, LIST, {"approvalRequired": True}),
    ):
        response = send(url, json=body, auth=admin)
        assert response.status_code == 409 and response.get_json()["code"] == 409.51, url


def test_a_list_names_the_forms_that_write_and_read_it(client, users, db_session):
    """sourceForms: a published form whose meta/entity names the list, each property with the forms saving to
    it (pyodk's EntityListProperty: xmlFormIds); linkedForms: a form whose media hold `cases.csv`."""
    from ingest.db import utcnow
    from ingest.models import Form, FormAttachment, FormVersion

    registration = (
        '<h:html xmlns:entities="http://www.opendatakit.org/xforms/entities"><model entities:entities-version='
        '"2024.1.0"><instance><data id="register"><status/><meta><instanceID/><entity dataset="cases" id="" '
        'create="1"><label/></entity></meta></data></instance><bind nodeset="/data/status" type="string" '
        'entities:saveto="status"/></model></h:html>'
    )
    for form_id, title, xml, media in (
        ("register", "Registration", registration, []),
        ("followup", "Follow-up", "<h:html/>", ["cases.csv"]),
    ):
        version = FormVersion(
            version="1", title=title, xml=xml, xml_md5="0" * 32, fields=[], published_at=utcnow(), warnings=[]
        )
        version.attachments = [FormAttachment(name=n) for n in media]
        db_session.add(Form(project_id=1, xml_form_id=form_id, versions=[version]))
    db_session.commit()
    body = client.get(LIST, auth=users["statistician"]).get_json()
    assert body["sourceForms"] == [{"xmlFormId": "register", "name": "Registration"}]
    assert body["linkedForms"] == [{"xmlFormId": "followup", "name": "Follow-up"}]
    assert {p["name"]: p["forms"] for p in body["properties"]} == {"province": [], "status": ["register"]}
    assert EntityList(**body).properties[1].forms == ["register"]


def test_an_officer_of_two_provinces_places_an_entity_in_the_first(client, users, db_session):
    from ingest.accounts.users import create_user

    create_user(db_session, "two@example.la", "a long enough password", "provincial-officer", provinces=["05", "01"])
    db_session.commit()
    two = ("two@example.la", "a long enough password")
    made = client.post(f"{LIST}/entities", json={"label": "Two provinces"}, auth=two).get_json()
    assert made["province"] == "01"
    assert client.get(f"{LIST}/entities/{made['uuid']}", auth=two).status_code == 200
    placed = client.post(f"{LIST}/entities", json={"label": "In 05", "province": "05"}, auth=two).get_json()
    assert placed["province"] == "05"
