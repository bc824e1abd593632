"""OData v4 as ODK Central names it: service document, $metadata (validated against an EDMX/CSDL schema),
Submissions and repeat entity sets, query options, $filter on system fields and answers, scope and redaction."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from openpyxl import Workbook
from sqlalchemy import func, select

from ingest import odata
from ingest.models import AuditEvent, Submission, SubmissionRow
from tests.conftest import ADMIN_PASSWORD, DATA, make_instance
from tests.support.exports import _sample_v3
from tests.support.openrosa import post

SVC = "/v1/projects/1/forms/sample_case.svc"
HH = "/v1/projects/1/forms/household_survey.svc"
PASSWORD = "a long enough password"
SCHEMAS = DATA / "odata"


def basic(email: str, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


@pytest.fixture
def auth(admin):
    return basic(admin[0], ADMIN_PASSWORD)


def get(client, auth, url: str, status: int = 200, **params):
    response = client.get(url, headers=auth, query_string=params)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response


def values(client, auth, url: str = f"{SVC}/Submissions", **params) -> list[dict]:
    return get(client, auth, url, **params).get_json()["value"]


def ids(client, auth, url: str = f"{SVC}/Submissions", **params) -> list[str]:
    return [v["__id"] for v in values(client, auth, url, **params)]


# --- A form with a group, a repeat inside a repeat, and every typed kind of answer -----------------------


def _household_xlsx(path: Path) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    survey = workbook.create_sheet("survey")
    for row in (
        ["type", "name", "label", "sensitive", "tags"],
        ["text", "village", "Village", "", ""],
        ["text", "province", "Province", "", "scope_province"],
        ["integer", "visits", "Visits", "", ""],
        ["decimal", "income", "Income", "", ""],
        ["date", "visit_date", "Visit date", "", ""],
        ["geopoint", "location", "Location", "", ""],
        ["select_multiple needs", "needs", "Needs", "", ""],
        ["text", "informant", "Informant", "yes", ""],
        ["begin_group", "hh_info", "Household", "", ""],
        ["text", "head_name", "Head of household", "", ""],
        ["integer", "size", "Size", "", ""],
        ["end_group", "", "", "", ""],
        ["begin_repeat", "household", "Households", "", ""],
        ["text", "hh_name", "Name", "", ""],
        ["begin_repeat", "member", "Members", "", ""],
        ["text", "member_name", "Member", "yes", ""],
        ["integer", "member_age", "Age", "", ""],
        ["end_repeat", "", "", "", ""],
        ["end_repeat", "", "", "", ""],
    ):
        survey.append(row)
    choices = workbook.create_sheet("choices")
    for row in (
        ["list_name", "name", "label"],
        ["needs", "food", "Food"],
        ["needs", "shelter", "Shelter"],
        ["needs", "work", "Work"],
    ):
        choices.append(row)
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "form_title", "version"])
    settings.append(["household_survey", "Household survey", "1"])
    workbook.save(path)


@pytest.fixture(scope="session")
def household_compiled(tmp_path_factory):
    from forms.compiler import compile_xlsform

    path = tmp_path_factory.mktemp("hh") / "household.xlsx"
    _household_xlsx(path)
    return compile_xlsform(path)


@pytest.fixture
def household(app, db_session, household_compiled, published_form):
    from ingest.publishing.versions import publish

    publish(db_session, app.extensions["collector.store"], 1, household_compiled, {})
    db_session.commit()


def household_xml(
    instance_id: str,
    *,
    village="Ban Na",
    province="01",
    visits="3",
    income="12.5",
    visit_date="2026-11-30",
    location="17.96 102.61 170 5",
    needs="food work",
    informant="Noy",
    head="Khamla",
    size="4",
    households=(("North", (("Ana", "31"), ("Bo", "7"))),),
) -> bytes:
    homes = "".join(
        f"<household><hh_name>{name}</hh_name>"
        + "".join(f"<member><member_name>{m}</member_name><member_age>{a}</member_age></member>" for m, a in members)
        + "</household>"
        for name, members in households
    )
    return (
        f'<data id="household_survey" version="1"><village>{village}</village><province>{province}</province>'
        f"<visits>{visits}</visits><income>{income}</income><visit_date>{visit_date}</visit_date>"
        f"<location>{location}</location><needs>{needs}</needs><informant>{informant}</informant>"
        f"<hh_info><head_name>{head}</head_name><size>{size}</size></hh_info>{homes}"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def send(client, auth, xml: bytes, form_id: str = "household_survey"):
    response = client.post(
        f"/v1/projects/1/forms/{form_id}/submissions", data=xml, headers=auth, content_type="application/xml"
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)


# --- Service document and $metadata ----------------------------------------------------------------------


def test_service_document_lists_submissions_and_each_repeat(client, auth, household):
    response = get(client, auth, HH)
    assert response.headers["OData-Version"] == "4.0"
    body = response.get_json()
    assert body["@odata.context"] == f"http://localhost{HH}/$metadata"
    assert body["value"] == [
        {"name": n, "kind": "EntitySet", "url": n}
        for n in ("Submissions", "Submissions.household", "Submissions.household.member")
    ]
    assert get(client, auth, f"{HH}/").get_json() == body


def test_svc_routes_do_not_collide_with_form_routes(client, auth, published_form):
    assert get(client, auth, SVC).get_json()["value"][1]["name"] == "Submissions.route"
    form = get(client, auth, "/v1/projects/1/forms/sample_case").get_json()
    assert form["xmlFormId"] == "sample_case"
    get(client, auth, "/v1/projects/1/forms/nope.svc", 404)
    get(client, auth, "/v1/projects/1/forms/nope.svc/$metadata", 404)
    get(client, auth, f"{SVC}/Submissions.nope", 404)
    get(client, auth, f"{SVC}/Elsewhere", 404)


def _validated(xml: bytes) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd")))
    document = etree.fromstring(xml)
    schema.assertValid(document)
    return document


def test_metadata_is_valid_edmx_in_centrals_shape(client, auth, household):
    response = get(client, auth, f"{HH}/$metadata")
    assert response.mimetype == "application/xml"
    doc = _validated(response.data)
    ns = {"edmx": odata.EDMX_NS, "edm": odata.EDM_NS}
    system, user = doc.findall("edmx:DataServices/edm:Schema", ns)
    assert system.get("Namespace") == "org.opendatakit.submission"
    assert [p.get("Name") for p in system.findall("edm:ComplexType[@Name='metadata']/edm:Property", ns)] == [
        "submissionDate",
        "updatedAt",
        "deletedAt",
        "submitterId",
        "submitterName",
        "attachmentsPresent",
        "attachmentsExpected",
        "status",
        "reviewState",
        "deviceId",
        "edits",
        "formVersion",
    ]
    assert user.get("Namespace") == "org.opendatakit.user.household_survey"
    types = {e.get("Name"): e for e in user.findall("edm:EntityType", ns)}
    assert list(types) == ["Submissions", "Submissions.household", "Submissions.household.member"]
    root = {p.get("Name"): p.get("Type") for p in types["Submissions"].findall("edm:Property", ns)}
    assert root == {
        "__id": "Edm.String",
        "__system": "org.opendatakit.submission.metadata",
        "village": "Edm.String",
        "province": "Edm.String",
        "visits": "Edm.Int64",
        "income": "Edm.Decimal",
        "visit_date": "Edm.Date",
        "location": "Edm.GeographyPoint",
        "needs": "Edm.String",
        "informant": "Edm.String",
        "hh_info": "org.opendatakit.user.household_survey.hh_info",
        "meta": "org.opendatakit.user.household_survey.meta",
    }
    assert types["Submissions"].find("edm:Key/edm:PropertyRef", ns).get("Name") == "__id"
    [nav] = types["Submissions"].findall("edm:NavigationProperty", ns)
    assert (nav.get("Name"), nav.get("Type")) == (
        "household",
        "Collection(org.opendatakit.user.household_survey.Submissions.household)",
    )
    member = {p.get("Name"): p.get("Type") for p in types["Submissions.household.member"].findall("edm:Property", ns)}
    assert member == {
        "__id": "Edm.String",
        "__Submissions-household-id": "Edm.String",
        "member_name": "Edm.String",
        "member_age": "Edm.Int64",
    }
    household_props = [p.get("Name") for p in types["Submissions.household"].findall("edm:Property", ns)]
    assert household_props == ["__id", "__Submissions-id", "hh_name"]
    groups = {c.get("Name") for c in user.findall("edm:ComplexType", ns)}
    assert groups == {"hh_info", "meta"}
    sets = user.findall("edm:EntityContainer/edm:EntitySet", ns)
    assert [(s.get("Name"), s.get("EntityType")) for s in sets][2] == (
        "Submissions.household.member",
        "org.opendatakit.user.household_survey.Submissions.household.member",
    )


def test_metadata_keeps_a_field_of_an_older_version(app, client, auth, device, db_session, tmp_path):
    from forms.compiler import compile_xlsform
    from ingest.publishing.versions import publish

    _sample_v3(tmp_path / "v3.xlsx")
    publish(db_session, app.extensions["collector.store"], 1, compile_xlsform(tmp_path / "v3.xlsx"), {})
    db_session.commit()
    doc = _validated(get(client, auth, f"{SVC}/$metadata").data)
    ns = {"edm": odata.EDM_NS}
    names = [p.get("Name") for p in doc.iter(f"{{{odata.EDM_NS}}}EntityType") if p.get("Name") == "Submissions"][0]
    root = doc.find(".//edm:EntityType[@Name='Submissions']", ns)
    props = {p.get("Name"): p.get("Type") for p in root.findall("edm:Property", ns)}
    assert names and props["age"] == "Edm.Int64"  # v3 dropped age: the property stays
    assert props["grp_case"] == "org.opendatakit.user.sample_case.grp_case"
    group = doc.find(".//edm:ComplexType[@Name='grp_case']/edm:Property", ns)
    assert (group.get("Name"), group.get("Type")) == ("interview_date", "Edm.Date")
    route = doc.find(".//edm:EntityType[@Name='Submissions.route']", ns)
    assert [p.get("Name") for p in route.findall("edm:Property", ns)] == [
        "__id",
        "__Submissions-id",
        "place",
        "days",
        "transport",
        "place_photo",
    ]


def test_the_schema_refuses_what_edmx_forbids():
    """The XSD subset is not a rubber stamp: a property without a type, or an unknown element, fails."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "edmx.xsd")))
    good = odata.Model("f", [{"path": "/data/a", "name": "a", "kind": "question", "xml_type": "int"}]).edmx()
    assert schema.validate(etree.fromstring(good))
    for bad in (
        good.replace(b' Type="Edm.Int64"', b""),
        good.replace(b"<Key>", b"<Keys/><Key>"),
        good.replace(b'Version="4.0"', b'Version="3.0"'),
        good.replace(b'Name="a"', b'Name="1a"'),
    ):
        assert not schema.validate(etree.fromstring(bad)), bad


# --- Entities ------------------------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


def test_submissions_hold_what_was_submitted(client, auth, household, db_session):
    from ingest.models import User

    send(
        client,
        auth,
        household_xml("uuid:hh-1", households=(("North", (("Ana", "31"), ("Bo", "7"))), ("South", (("Chai", "52"),)))),
    )
    body = get(client, auth, f"{HH}/Submissions").get_json()
    assert body["@odata.context"] == f"http://localhost{HH}/$metadata#Submissions"
    assert "@odata.nextLink" not in body and "@odata.count" not in body
    [record] = body["value"]
    system = record.pop("__system")
    assert record == {
        "__id": "uuid:hh-1",
        "village": "Ban Na",
        "province": "01",
        "visits": 3,
        "income": 12.5,
        "visit_date": "2026-11-30",
        "location": {"type": "Point", "coordinates": [102.61, 17.96, 170.0], "properties": {"accuracy": 5.0}},
        "needs": "food work",
        "informant": "Noy",
        "hh_info": {"head_name": "Khamla", "size": 4},
        "household@odata.navigationLink": "Submissions('uuid%3Ahh-1')/household",
        "meta": {"instanceID": "uuid:hh-1"},
    }
    admin = db_session.scalar(select(User).where(User.role == "admin"))
    assert system["submissionDate"].endswith("Z") and system["updatedAt"] is None
    assert {k: v for k, v in system.items() if k not in ("submissionDate", "updatedAt")} == {
        "deletedAt": None,
        "submitterId": str(admin.id),
        "submitterName": admin.display_name or None,
        "attachmentsPresent": 0,
        "attachmentsExpected": 0,
        "status": None,
        "reviewState": None,
        "deviceId": None,
        "edits": 0,
        "formVersion": "1",
    }
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.list")).all()
    assert [(e.resource, e.details) for e in events] == [("form:household_survey", {"count": 1, "format": "odata"})]


def test_repeat_entity_sets_carry_ids_of_their_parents(client, auth, household):
    send(
        client,
        auth,
        household_xml("uuid:hh-1", households=(("North", (("Ana", "31"), ("Bo", "7"))), ("South", (("Chai", "52"),)))),
    )
    homes = values(client, auth, f"{HH}/Submissions.household")
    north, south = _key_hash("uuid:hh-1/household[1]"), _key_hash("uuid:hh-1/household[2]")
    assert homes == [
        {
            "__id": north,
            "hh_name": "North",
            "__Submissions-id": "uuid:hh-1",
            "member@odata.navigationLink": f"Submissions('uuid%3Ahh-1')/household('{north}')/member",
        },
        {
            "__id": south,
            "hh_name": "South",
            "__Submissions-id": "uuid:hh-1",
            "member@odata.navigationLink": f"Submissions('uuid%3Ahh-1')/household('{south}')/member",
        },
    ]
    body = get(client, auth, f"{HH}/Submissions.household.member").get_json()
    assert body["@odata.context"].endswith("/$metadata#Submissions.household.member")
    assert body["value"] == [
        {
            "__id": _key_hash("uuid:hh-1/household[1]/member[1]"),
            "member_name": "Ana",
            "member_age": 31,
            "__Submissions-household-id": north,
        },
        {
            "__id": _key_hash("uuid:hh-1/household[1]/member[2]"),
            "member_name": "Bo",
            "member_age": 7,
            "__Submissions-household-id": north,
        },
        {
            "__id": _key_hash("uuid:hh-1/household[2]/member[1]"),
            "member_name": "Chai",
            "member_age": 52,
            "__Submissions-household-id": south,
        },
    ]
    # The navigation links resolve: one record, one household's members.
    assert [m["member_name"] for m in values(client, auth, f"{HH}/{homes[1]['member@odata.navigationLink']}")] == [
        "Chai"
    ]
    assert [h["hh_name"] for h in values(client, auth, f"{HH}/Submissions('uuid%3Ahh-1')/household")] == [
        "North",
        "South",
    ]
    [one] = values(client, auth, f"{HH}/Submissions('uuid%3Ahh-1')")
    assert one["__id"] == "uuid:hh-1" and one["hh_info"]["size"] == 4
    get(client, auth, f"{HH}/Submissions('uuid%3Anope')", 404)


def test_expand_inlines_every_repeat(client, auth, household):
    send(client, auth, household_xml("uuid:hh-1"))
    [record] = values(client, auth, f"{HH}/Submissions", **{"$expand": "*"})
    north = _key_hash("uuid:hh-1/household[1]")
    assert record["household"] == [
        {
            "__id": north,
            "hh_name": "North",
            "member@odata.navigationLink": f"Submissions('uuid%3Ahh-1')/household('{north}')/member",
            "member": [
                {"__id": _key_hash("uuid:hh-1/household[1]/member[1]"), "member_name": "Ana", "member_age": 31},
                {"__id": _key_hash("uuid:hh-1/household[1]/member[2]"), "member_name": "Bo", "member_age": 7},
            ],
        }
    ]
    assert record["household@odata.navigationLink"] == "Submissions('uuid%3Ahh-1')/household"
    [home] = values(client, auth, f"{HH}/Submissions.household", **{"$expand": "*"})
    assert [m["member_name"] for m in home["member"]] == ["Ana", "Bo"]
    for bad in ({"$expand": "household"}, {"$expand": "*", "$select": "visits"}):
        assert get(client, auth, f"{HH}/Submissions", 501, **bad).get_json()["status"] == 501


def test_wkt_and_numbers_that_did_not_parse(client, auth, household):
    send(client, auth, household_xml("uuid:hh-1", visits="three", income="n/a"))
    [record] = values(client, auth, f"{HH}/Submissions", **{"$wkt": "true"})
    assert record["location"] == "POINT (102.61 17.96 170)"
    assert (record["visits"], record["income"]) == (None, None)  # Edm.Int64 and Edm.Decimal: never text
    # A number field that kept text is never cast: no 500 on PostgreSQL, the row simply does not match.
    assert ids(client, auth, f"{HH}/Submissions", **{"$filter": "visits gt 1", "$orderby": "visits desc"}) == []


def test_select_keeps_what_it_names(client, auth, household):
    send(client, auth, household_xml("uuid:hh-1"))
    [record] = values(
        client, auth, f"{HH}/Submissions", **{"$select": "visits,hh_info/size,__id,__system/reviewState,__system/edits"}
    )
    assert record == {
        "__id": "uuid:hh-1",
        "visits": 3,
        "hh_info": {"size": 4},
        "__system": {"reviewState": None, "edits": 0},
    }
    [record] = values(client, auth, f"{HH}/Submissions", **{"$select": "hh_info,__system"})
    assert record["hh_info"] == {"head_name": "Khamla", "size": 4} and record["__system"]["formVersion"] == "1"
    homes = values(client, auth, f"{HH}/Submissions.household", **{"$select": "hh_name"})
    assert homes == [{"__id": _key_hash("uuid:hh-1/household[1]"), "hh_name": "North"}]
    homes = values(client, auth, f"{HH}/Submissions.household", **{"$select": "hh_name,__Submissions-id"})
    assert homes[0]["__Submissions-id"] == "uuid:hh-1"
    for bad, named in (("nope", "nope"), ("household/hh_name", "household/hh_name"), ("hh_info/x", "hh_info/x")):
        error = get(client, auth, f"{HH}/Submissions", 400, **{"$select": bad}).get_json()["error"]
        assert named in error


# --- $filter --------------------------------------------------------------------------------------------


@pytest.fixture
def three(client, auth, household):
    """Three household records that differ in every typed answer."""
    send(
        client,
        auth,
        household_xml(
            "uuid:a",
            village="Ban Na",
            visits="1",
            income="2.5",
            visit_date="2025-01-15",
            needs="food",
            size="2",
            households=(("A", (("Ana", "31"),)),),
        ),
    )
    send(
        client,
        auth,
        household_xml(
            "uuid:b",
            village="Ban Phon",
            province="05",
            visits="3",
            income="10",
            visit_date="2026-03-01",
            needs="food shelter",
            size="5",
            households=(("B", (("Bo", "7"), ("Bee", "40"))),),
        ),
    )
    send(
        client,
        auth,
        xml=household_xml(
            "uuid:c", village="Nong Khai", visits="", income="", visit_date="", needs="", size="", households=()
        ),
    )
    return ["uuid:a", "uuid:b", "uuid:c"]


FILTERS = [
    ("visits eq 3", ["uuid:b"]),
    ("visits ne 3", ["uuid:a"]),
    ("visits gt 1", ["uuid:b"]),
    ("visits ge 1", ["uuid:a", "uuid:b"]),
    ("visits lt 3", ["uuid:a"]),
    ("visits le 3", ["uuid:a", "uuid:b"]),
    ("3 gt visits", ["uuid:a"]),
    ("visits eq null", ["uuid:c"]),
    ("visits ne null", ["uuid:a", "uuid:b"]),
    ("income gt 2.4", ["uuid:a", "uuid:b"]),
    ("income eq 10", ["uuid:b"]),
    ("income le 2.5", ["uuid:a"]),
    ("village eq 'Ban Na'", ["uuid:a"]),
    ("village ne 'Ban Na'", ["uuid:b", "uuid:c"]),
    ("contains(village,'Ban')", ["uuid:a", "uuid:b"]),
    ("contains(village,'%')", []),
    ("needs eq 'shelter'", ["uuid:b"]),
    ("needs eq 'food'", ["uuid:a", "uuid:b"]),
    ("visit_date ge 2026-01-01", ["uuid:b"]),
    ("visit_date lt 2026-01-01", ["uuid:a"]),
    ("year(visit_date) eq 2025", ["uuid:a"]),
    ("month(visit_date) eq 3", ["uuid:b"]),
    ("day(visit_date) eq 15", ["uuid:a"]),
    ("hh_info/size gt 3", ["uuid:b"]),
    ("visits eq 1 or village eq 'Nong Khai'", ["uuid:a", "uuid:c"]),
    ("contains(village,'Ban') and not (visits eq 1)", ["uuid:b"]),
    ("(visits eq 1 or visits eq 3) and income gt 5", ["uuid:b"]),
    ("not contains(village,'Ban')", ["uuid:c"]),
    ("__id eq 'uuid:b'", ["uuid:b"]),
]


def test_filter_on_answers(client, auth, three):
    for expression, expected in FILTERS:  # one database for all: posting the records is the slow part
        assert ids(client, auth, f"{HH}/Submissions", **{"$filter": expression}) == expected, expression


def test_filter_on_a_repeat_entity_set(client, auth, three):
    members = values(client, auth, f"{HH}/Submissions.household.member", **{"$filter": "member_age ge 31"})
    assert [m["member_name"] for m in members] == ["Ana", "Bee"]
    members = values(
        client,
        auth,
        f"{HH}/Submissions.household.member",
        **{"$filter": "member_age lt 40 and __system/submissionDate gt 2000-01-01", "$count": "true"},
    )
    assert [m["member_name"] for m in members] == ["Ana", "Bo"]
    error = get(client, auth, f"{HH}/Submissions.household.member", 400, **{"$filter": "visits eq 1"}).get_json()
    assert "visits" in error["error"]


def test_filter_on_system_fields(client, auth, device, db_session, published_form):
    for key in ("one", "two", "three"):
        assert post(client, device, make_instance(f"uuid:sys-{key}")).status_code == 201
    two = db_session.scalar(select(Submission).where(Submission.instance_id == "uuid:sys-two"))
    two.review_state = "approved"
    two.updated_at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    db_session.commit()
    year = datetime.now(UTC).year

    def keys(expression: str) -> list[str]:
        return [i.rsplit("-", 1)[1] for i in ids(client, auth, f"{SVC}/Submissions", **{"$filter": expression})]

    everyone = ["one", "two", "three"]
    assert keys("__system/submissionDate gt 2000-01-01T00:00:00Z") == everyone
    assert keys("__system/submissionDate lt 2000-01-01") == []
    assert keys(f"year(__system/submissionDate) eq {year}") == everyone
    assert keys("month(__system/submissionDate) ge 1 and day(__system/submissionDate) le 31") == everyone
    assert keys("__system/reviewState eq 'approved'") == ["two"]
    assert keys("__system/reviewState eq null") == ["one", "three"]
    assert keys("__system/reviewState ne null") == ["two"]
    assert keys("__system/updatedAt ge 2026-12-02T09:00:00+00:00") == ["two"]
    assert keys("__system/updatedAt eq null") == ["one", "three"]
    assert keys(f"__system/submitterId eq {device.id}") == everyone
    assert keys(f"__system/submitterId eq '{device.id + 1000}'") == []
    assert keys("__system/deviceId eq 'collect:abc123'") == everyone
    assert keys("contains(__system/deviceId,'abc')") == everyone
    assert keys("__system/formVersion eq '2026112901' and __system/reviewState eq 'approved'") == ["two"]
    # A __system property Central does not filter on either: 501, as Central answers.
    unsupported = get(client, auth, f"{SVC}/Submissions", 501, **{"$filter": "__system/edits eq 0"})
    assert unsupported.get_json()["code"] == 501.5
    for bad in (
        "__system/reviewState gt 2026-01-01",
        "year(__system/reviewState) eq 1",
        "__system/submissionDate eq 'yesterday'",
    ):
        assert get(client, auth, f"{SVC}/Submissions", 400, **{"$filter": bad}).get_json()["status"] == 400


@pytest.mark.parametrize(
    "expression, at",
    [
        ("visits eq eq 3", 13),
        ("visits eq 'open", 11),
        ("(visits eq 1", 13),
        ("visits $ 3", 7),
    ],
)
def test_a_malformed_filter_is_400_with_the_character(client, auth, household, expression, at):
    error = get(client, auth, f"{HH}/Submissions", 400, **{"$filter": expression}).get_json()["error"]
    assert error.startswith("The OData filter expression you provided could not be parsed")
    assert f"character {at}" in error, error


@pytest.mark.parametrize(
    "expression, named",
    [
        ("nope eq 1", "nope"),
        ("hh_info/nope eq 1", "hh_info/nope"),
        ("member_age gt 3", "member_age"),
        ("year(village) eq 2026", "village"),
        ("visits eq 'many'", "visits"),
        ("visit_date eq 'soon'", "visit_date"),
        ("visits eq income", "value"),
    ],
)
def test_unknown_or_mistyped_filters_are_400_naming_the_problem(client, auth, household, expression, named):
    error = get(client, auth, f"{HH}/Submissions", 400, **{"$filter": expression}).get_json()
    assert error["status"] == 400 and named in error["error"], error


@pytest.mark.parametrize(
    "expression, named", [("startswith(village,'B')", "startswith"), ("visits in (1, 2)", "operator in")]
)
def test_an_unsupported_function_or_operator_is_501_as_centrals(client, auth, household, expression, named):
    error = get(client, auth, f"{HH}/Submissions", 501, **{"$filter": expression}).get_json()
    assert error["code"] == 501.4 and named in error["error"], error


INJECTIONS = [
    ("$filter", "village eq 'x'' or ''1''=''1'"),
    ("$filter", "village eq 'x'; DROP TABLE submissions; --"),
    ("$filter", "village eq 'x' --"),
    ("$filter", "contains(village,''')) OR 1=1 --')"),
    ("$filter", "village eq 'Robert''); DROP TABLE submission_rows;--'"),
    ("$orderby", "visits; DROP TABLE submissions"),
    ("$orderby", "(SELECT 1)"),
    ("$orderby", "visits desc --"),
    ("$orderby", "visits asc, 1=1"),
    ("$orderby", "__system/submissionDate); DELETE FROM submissions; --"),
    ("$select", "visits); DROP TABLE submissions; --"),
    ("$skiptoken", "01' OR 1=1 --"),
]


def test_injection_attempts_are_harmless(client, auth, three, db_session):
    for option, text in INJECTIONS:
        response = client.get(f"{HH}/Submissions", headers=auth, query_string={option: text})
        assert response.status_code == 400 or (response.status_code == 200 and response.get_json()["value"] == []), (
            option,
            text,
        )
        db_session.expire_all()
        assert db_session.scalar(select(func.count()).select_from(Submission)) == 3
        rows = db_session.scalar(select(func.count()).select_from(SubmissionRow))
        assert rows == 3 + 2 + 3  # roots, households, members
        assert ids(client, auth, f"{HH}/Submissions") == three


# --- $orderby, $top, $skip, $count, $skiptoken ---------------------------------------------------------


def test_orderby_answers_and_system_fields(client, auth, three):
    def order(text: str) -> list[str]:
        return ids(client, auth, f"{HH}/Submissions", **{"$orderby": text})

    assert order("visits desc") == ["uuid:b", "uuid:a", "uuid:c"]  # nulls last when descending
    assert order("visits") == ["uuid:c", "uuid:a", "uuid:b"]  # and first when ascending, as OData says
    assert order("village desc") == ["uuid:c", "uuid:b", "uuid:a"]
    assert order("hh_info/size asc") == ["uuid:c", "uuid:a", "uuid:b"]
    assert order("__system/submissionDate desc, __id desc") == ["uuid:c", "uuid:b", "uuid:a"]
    assert order("__system/reviewState asc, visits desc") == ["uuid:b", "uuid:a", "uuid:c"]
    members = values(client, auth, f"{HH}/Submissions.household.member", **{"$orderby": "member_age desc"})
    assert [m["member_name"] for m in members] == ["Bee", "Ana", "Bo"]
    for bad in ("visits sideways", "nope", "hh_info", "visits,"):
        get(client, auth, f"{HH}/Submissions", 400, **{"$orderby": bad})


def _follow(client, auth, url: str, **params) -> tuple[list[dict], int]:
    """Read every page, following @odata.nextLink; return the entities and the number of pages."""
    body = get(client, auth, url, **params).get_json()
    entities, pages = body["value"], 1
    while "@odata.nextLink" in body:
        link = urlsplit(body["@odata.nextLink"])
        assert "$skip=" not in link.query and "%24skiptoken=01" in link.query
        body = client.get(f"{link.path}?{link.query}", headers=auth).get_json()
        entities += body["value"]
        pages += 1
    return entities, pages


def test_top_skip_count_and_skiptoken_page_through_every_row(client, auth, device, published_form):
    sent = [f"uuid:page-{i:02}" for i in range(7)]
    for instance_id in sent:
        assert post(client, device, make_instance(instance_id)).status_code == 201
    body = get(client, auth, f"{SVC}/Submissions", **{"$top": "3", "$count": "true"}).get_json()
    assert [v["__id"] for v in body["value"]] == sent[:3] and body["@odata.count"] == 7
    token = parse_qs(urlsplit(body["@odata.nextLink"]).query)["$skiptoken"][0]
    assert list(json.loads(base64.b64decode(token[2:]))) == ["id"]  # keyset: the last record's key
    entities, pages = _follow(client, auth, f"{SVC}/Submissions", **{"$top": "3"})
    assert [e["__id"] for e in entities] == sent and pages == 3
    assert ids(client, auth, f"{SVC}/Submissions", **{"$skip": "5"}) == sent[5:]
    assert ids(client, auth, f"{SVC}/Submissions", **{"$skip": "2", "$top": "2"}) == sent[2:4]
    entities, pages = _follow(client, auth, f"{SVC}/Submissions", **{"$top": "2", "$skip": "1"})
    assert [e["__id"] for e in entities] == sent[1:] and pages == 3
    # With $orderby the token carries an offset.
    entities, _ = _follow(client, auth, f"{SVC}/Submissions", **{"$top": "4", "$orderby": "__id desc"})
    assert [e["__id"] for e in entities] == sent[::-1]
    # Repeat rows page by row, across records (two places each).
    rows, pages = _follow(client, auth, f"{SVC}/Submissions.route", **{"$top": "3", "$count": "true"})
    assert len(rows) == 14 and pages == 5 and len({r["__id"] for r in rows}) == 14
    assert [r["__Submissions-id"] for r in rows[:4]] == [sent[0], sent[0], sent[1], sent[1]]
    assert get(client, auth, f"{SVC}/Submissions", **{"$top": "0"}).get_json()["value"] == []
    for bad in (
        {"$top": "-1"},
        {"$top": "many"},
        {"$skip": "1.5"},
        {"$skiptoken": "02abc"},
        {"$skiptoken": "01" + base64.b64encode(b'{"id": "x"}').decode()},
    ):
        get(client, auth, f"{SVC}/Submissions", 400, **bad)


def test_top_is_capped_and_the_cut_says_so(client, auth, device, published_form, monkeypatch):
    for i in range(5):
        assert post(client, device, make_instance(f"uuid:cap-{i}")).status_code == 201
    monkeypatch.setattr(odata, "MAX_TOP", 2)
    response = get(client, auth, f"{SVC}/Submissions", **{"$top": "100"})
    body = response.get_json()
    assert len(body["value"]) == 2 and "@odata.nextLink" in body
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    response = get(client, auth, f"{SVC}/Submissions")
    assert len(response.get_json()["value"]) == 2 and response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    entities, pages = _follow(client, auth, f"{SVC}/Submissions", **{"$top": "100"})
    assert len(entities) == 5 and pages == 3
    response = get(client, auth, f"{SVC}/Submissions", **{"$top": "1"})
    assert "Preference-Applied" not in response.headers and "@odata.nextLink" in response.get_json()


# --- Scope and redaction --------------------------------------------------------------------------------


@pytest.fixture
def users(app, db_session):
    from ingest.accounts.users import create_user

    create_user(db_session, "analyst@example.la", PASSWORD, "analyst")
    create_user(db_session, "officer@example.la", PASSWORD, "provincial-officer", provinces=["05"])
    create_user(db_session, "stats@example.la", PASSWORD, "statistician")
    db_session.commit()


def test_an_analyst_sees_sensitive_answers_as_null_and_cannot_filter_or_sort_on_them(client, three, users):
    analyst = basic("analyst@example.la")
    records = values(client, analyst, f"{HH}/Submissions")
    assert [(r["__id"], r["informant"], r["village"]) for r in records] == [
        ("uuid:a", None, "Ban Na"),
        ("uuid:b", None, "Ban Phon"),
        ("uuid:c", None, "Nong Khai"),
    ]
    members = values(client, analyst, f"{HH}/Submissions.household.member")
    assert [(m["member_name"], m["member_age"]) for m in members] == [(None, 31), (None, 7), (None, 40)]
    [expanded] = values(client, analyst, f"{HH}/Submissions", **{"$expand": "*", "$filter": "__id eq 'uuid:a'"})
    assert expanded["household"][0]["member"][0]["member_name"] is None
    for option, text, url in (
        ("$filter", "informant eq 'Noy'", "Submissions"),
        ("$filter", "contains(informant,'N')", "Submissions"),
        ("$orderby", "informant", "Submissions"),
        ("$filter", "member_name eq 'Ana'", "Submissions.household.member"),
    ):
        error = get(client, analyst, f"{HH}/{url}", 403, **{option: text}).get_json()
        assert "sensitive" in error["error"]
    assert ids(client, analyst, f"{HH}/Submissions", **{"$filter": "visits eq 3"}) == ["uuid:b"]
    get(client, basic("stats@example.la"), f"{HH}/Submissions", 403)
    get(client, basic("stats@example.la"), f"{HH}/$metadata", 403)


def test_a_provincial_officer_sees_only_their_province(client, three, users):
    officer = basic("officer@example.la")
    body = get(client, officer, f"{HH}/Submissions", **{"$count": "true"}).get_json()
    assert [v["__id"] for v in body["value"]] == ["uuid:b"] and body["@odata.count"] == 1
    assert body["value"][0]["informant"] == "Noy"  # officers see identities
    assert ids(client, officer, f"{HH}/Submissions", **{"$filter": "village eq 'Ban Na'"}) == []
    members = values(client, officer, f"{HH}/Submissions.household.member", **{"$count": "true"})
    assert [m["member_name"] for m in members] == ["Bo", "Bee"]
    get(client, officer, f"{HH}/Submissions('uuid%3Aa')", 404)
    get(client, officer, f"{HH}/Submissions('uuid%3Aa')/household", 404)
    assert ids(client, officer, f"{HH}/Submissions('uuid%3Ab')") == ["uuid:b"]


def test_nested_groups_and_repeats_get_centrals_dotted_names():
    """Without a database: a group inside a repeat, and a repeat inside a group, as Central names them."""

    def field(path, kind, xml_type="string", repeat=None):
        return {"path": path, "name": path.rsplit("/", 1)[1], "kind": kind, "xml_type": xml_type, "repeat": repeat}

    model = odata.Model(
        "my-form.v2",
        [
            field("/data/grp", "group"),
            field("/data/grp/visits", "repeat"),
            field("/data/grp/visits/when", "question", "dateTime", "/data/grp/visits"),
            field("/data/grp/visits/inner", "group", repeat="/data/grp/visits"),
            field("/data/grp/visits/inner/where", "question", "geoshape", "/data/grp/visits"),
            field("/data/grp/visits/inner/5th-item", "question", "decimal", "/data/grp/visits"),
        ],
    )
    assert list(model.sets) == ["Submissions", "Submissions.grp.visits"]
    assert model.sets["Submissions.grp.visits"].parent_key == "__Submissions-id"
    doc = _validated(model.edmx())
    ns = {"edm": odata.EDM_NS}
    assert doc.find(".//edm:Schema[@Namespace='org.opendatakit.user.my_form_v2']", ns) is not None
    inner = doc.find(".//edm:ComplexType[@Name='grp.visits.inner']", ns)
    assert [(p.get("Name"), p.get("Type")) for p in inner] == [
        ("where", "Edm.GeographyPolygon"),
        ("_5th_item", "Edm.Decimal"),
    ]
    visits = doc.find(".//edm:EntityType[@Name='Submissions.grp.visits']", ns)
    assert [p.get("Name") for p in visits.findall("edm:Property", ns)] == ["__id", "__Submissions-id", "when", "inner"]
    nav = doc.find(".//edm:ComplexType[@Name='grp']/edm:NavigationProperty", ns)
    assert nav.get("Type") == "Collection(org.opendatakit.user.my_form_v2.Submissions.grp.visits)"
