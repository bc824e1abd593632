"""Who sees what: every role x every read path x records of two provinces, on SQLite and PostgreSQL.

Two records name province 01 but were sent from province 05, by its tablet and by its officer: one province
rule for every sender (issue 16) keeps them in 05, their claim of 01 shown, and province 01 never sees them.

The matrix is data. `CALLERS` says what each caller may see; `PATHS` lists every read path with how to
call it and what it shows. Work that adds a read path (exports, OData, statistics) adds a row to `PATHS`;
`test_every_data_route_is_in_the_matrix` fails until it does.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from ingest.records.review import REDACTED_COMMENT
from tests.conftest import make_instance
from tests.support.access import _basic
from tests.support.openrosa import JPEG, post

FORM = "/v1/projects/1/forms/sample_case"
PASSWORD = "a long enough password"
NAME = "ນາງ ສົມໃຈ Matrix"


@dataclass(frozen=True)
class Record:
    """A record of the matrix: the province it answers, whether consent to share was refused, who sends it
    (the tablet of the province answered unless named: `device-05`, or a caller of CALLERS) and the province
    it is placed in (the sender's, when the answer is outside it)."""

    key: str
    province: str
    consent: str = "yes"
    sender: str = ""
    placed: str = ""

    @property
    def placed_in(self) -> str:
        return self.placed or self.province

    @property
    def claimed(self) -> str | None:
        return self.province if self.placed_in != self.province else None

    @property
    def instance_id(self) -> str:
        return f"uuid:matrix-{self.key}"


RECORDS = (
    Record("R01", "01"),
    Record("R05", "05"),
    Record("W05", "05", consent="no"),
    Record("X05", "01", sender="device-05", placed="05"),
    Record("Y05", "01", sender="provincial-officer-05", placed="05"),
)


@dataclass(frozen=True)
class Sees:
    """What a caller may see: None = refused (403) on every record path; else the records and identities."""

    records: frozenset[str] | None
    identities: bool = False
    role: str | None = None
    provinces: tuple[str, ...] = ()
    drafts: bool = False
    audit: bool = False


#: The matrix's callers: every role, provincial officers of provinces 05 and 01, and a device.
CALLERS: dict[str, Sees] = {
    "admin": Sees(
        frozenset({"R01", "R05", "W05", "X05", "Y05"}), identities=True, role="admin", drafts=True, audit=True
    ),
    "trainer": Sees(None, role="trainer", drafts=True),
    "case-officer": Sees(frozenset({"R01", "R05", "X05", "Y05"}), identities=True, role="case-officer"),
    "provincial-officer-05": Sees(
        frozenset({"R05", "W05", "X05", "Y05"}), identities=True, role="provincial-officer", provinces=("05",)
    ),
    # Province 01 never sees what province 05's tablet and officer sent, whatever province it names.
    "provincial-officer-01": Sees(frozenset({"R01"}), identities=True, role="provincial-officer", provinces=("01",)),
    "analyst": Sees(frozenset({"R01", "R05", "X05", "Y05"}), role="analyst"),
    "statistician": Sees(None, role="statistician"),
    "device": Sees(None),
}


@dataclass
class World:
    client: object
    runner: object
    auth: dict[str, dict] = field(default_factory=dict)
    device_prefix: str = ""
    draft_token: str = ""
    #: the tokens of a live and a revoked desk link, once made (_matrix_desks)
    desks: tuple[str, ...] = ()

    def get(self, caller: str, path: str):
        """GET `path` as `caller`; the body is read and the file it streamed closed."""
        if caller == "device":
            response = self.client.get(path.replace("/v1", self.device_prefix, 1))
        else:
            response = self.client.get(path, headers=self.auth[caller])
        response.get_data()
        response.close()
        return response


@dataclass(frozen=True)
class Path:
    """A read path: its URL rule(s) in the app, and how to check one caller's answer."""

    name: str
    rules: tuple[str, ...]
    check: Callable[[World, str, Sees], None]


def _record_path(suffix: str, show: Callable) -> Callable[[World, str, Sees], None]:
    """Check a path about one record: 403 when the role reads no records, 404 outside scope, else `show`.

    `{id}` in the suffix stands for the record's instanceID (each record has one version, itself).
    """

    def check(world: World, caller: str, sees: Sees) -> None:
        for record in RECORDS:
            url = f"{FORM}/submissions/{record.instance_id}{suffix.format(id=record.instance_id)}"
            response = world.get(caller, url)
            if sees.records is None:
                assert response.status_code == 403, (caller, record.key, response.status_code)
            elif record.key not in sees.records:
                assert response.status_code == 404, (caller, record.key, response.status_code)
            else:
                assert response.status_code in (200, 403), (caller, record.key, response.status_code)
                show(response, sees, record)

    return check


def _shows_json(response, sees: Sees, record: Record) -> None:
    assert response.status_code == 200
    body = response.get_json()
    for item in body if isinstance(body, list) else [body]:
        if sees.identities:
            assert item["data"]["full_name"] == NAME and item["redacted"] == []
        else:
            assert item["data"]["full_name"] is None and "full_name" in item["redacted"]
            assert "photo" in item["redacted"]
        assert item["data"]["age"] == 30  # what does not identify stays
        if "province" in item:  # a record (a version has no province of its own)
            assert (item["province"], item["claimedProvince"]) == (record.placed_in, record.claimed), record.key


def _shows_xml(response, sees: Sees, record: Record) -> None:
    assert response.status_code == 200
    xml = response.get_data(as_text=True)
    assert f"<province>{record.province}</province>" in xml
    assert (NAME in xml) is sees.identities
    assert ("photo.jpg" in xml) is sees.identities


def _shows_file_list(response, sees: Sees, record: Record) -> None:
    assert response.status_code == 200
    assert {a["name"] for a in response.get_json()} == {"photo.jpg", "place.jpg"}


def _shows_sensitive_file(response, sees: Sees, record: Record) -> None:
    assert response.status_code == (200 if sees.identities else 403)
    if sees.identities:
        assert response.get_data() == JPEG + record.key.encode()


def _shows_plain_file(response, sees: Sees, record: Record) -> None:
    assert response.status_code == 200 and response.get_data() == JPEG


def _check_comments(world: World, caller: str, sees: Sees) -> None:
    """Comments (issue 9 review): the admin comments on every record, naming the person; each caller reads."""
    for record in RECORDS:
        url = f"{FORM}/submissions/{record.instance_id}/comments"
        response = world.client.post(url, json={"body": f"{NAME} {record.key}"}, headers=world.auth["admin"])
        assert response.status_code == 200, response.data
    _record_path("/comments", _shows_comments)(world, caller, sees)


def _shows_comments(response, sees: Sees, record: Record) -> None:
    assert response.status_code == 200
    [shown] = response.get_json()
    assert shown["body"] == (f"{NAME} {record.key}" if sees.identities else REDACTED_COMMENT)
    assert shown["redacted"] is not sees.identities


def _check_list(world: World, caller: str, sees: Sees) -> None:
    response = world.get(caller, f"{FORM}/submissions")
    if sees.records is None:
        assert response.status_code == 403, caller
        return
    assert response.status_code == 200
    listed = {r["instanceId"]: r for r in response.get_json()}
    assert set(listed) == {r.instance_id for r in RECORDS if r.key in sees.records}, caller
    for record in RECORDS:
        if record.instance_id in listed:
            _shows_json(_Listed(listed[record.instance_id]), sees, record)


class _Listed:
    """A listed item, checked as a single read is."""

    status_code = 200

    def __init__(self, body):
        self._body = body

    def get_json(self):
        return self._body


def _check_drafts(world: World, caller: str, sees: Sees) -> None:
    response = world.get(caller, f"{FORM}/draft/submissions")
    if not sees.drafts:
        assert response.status_code == 403, caller
        return
    assert response.status_code == 200
    assert [r["instanceId"] for r in response.get_json()] == ["uuid:matrix-draft"]
    assert response.get_json()[0]["data"]["full_name"] == NAME  # test data is never real: shown to trainers


def _check_draft_odata(world: World, caller: str, sees: Sees) -> None:
    """The draft's OData (Central's draft.svc): its test records, only to the roles that manage forms."""
    svc = f"{FORM}/draft.svc"
    for suffix in ("", "/", "/$metadata", "/Submissions"):
        response = world.get(caller, svc + suffix)
        assert response.status_code == (200 if sees.drafts else 403), (caller, suffix)
    if sees.drafts:
        [row] = world.get(caller, f"{svc}/Submissions").get_json()["value"]
        assert (row["__id"], row["full_name"]) == ("uuid:matrix-draft", NAME)  # test data: never real, never redacted


def _check_audit(world: World, caller: str, sees: Sees) -> None:
    response = world.get(caller, "/v1/audits")
    assert response.status_code == (200 if sees.audit else 403), caller
    if sees.audit:
        assert any(e["action"] == "submission.read" for e in response.get_json())


def _check_cli(world: World, caller: str, sees: Sees) -> None:
    if caller == "device":
        return  # a device has no account to act as
    result = world.runner.invoke(["submissions", "list", "sample_case", "--as", f"{caller}@example.la"])
    if sees.records is None:
        assert result.exit_code == 1 and "may not read records" in result.output, result.output
        return
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {r["instanceId"] for r in lines} == {r.instance_id for r in RECORDS if r.key in sees.records}
    for line in lines:
        _shows_json(_Listed(line), sees, next(r for r in RECORDS if r.instance_id == line["instanceId"]))


def _check_stats(world: World, caller: str, sees: Sees) -> None:
    """Statistics: every role with the stats right gets a suppressed table (the register is tested apart)."""
    from ingest.access import RIGHTS

    response = world.get(caller, "/v1/projects/1/stats?by=province")
    counts = sees.role is not None and "stats" in RIGHTS[sees.role]
    assert response.status_code == (200 if counts else 403), (caller, response.status_code)
    if counts:
        assert {"by", "cells", "hidden", "threshold"} <= set(response.get_json())


def _check_cases(world: World, caller: str, sees: Sees) -> None:
    """The case register's list: roles that read records (its scoping is tested in test_cases.py)."""
    response = world.get(caller, "/v1/projects/1/cases")
    assert response.status_code == (403 if sees.records is None else 200), (caller, response.status_code)


def _check_csv_zip(world: World, caller: str, sees: Sees) -> None:
    """CSV zip export: exactly the caller's records, root and repeat rows; sensitive columns empty when redacted."""
    import csv
    import zipfile

    response = world.get(caller, f"{FORM}/submissions.csv.zip")
    if sees.records is None:
        assert response.status_code == 403, (caller, response.status_code)
        return
    assert response.status_code == 200, (caller, response.status_code)
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        root, route = (
            [*csv.DictReader(io.TextIOWrapper(archive.open(n), encoding="utf-8", newline=""))]
            for n in ("sample_case.csv", "sample_case-route.csv")
        )
    expected = {r.instance_id for r in RECORDS if r.key in sees.records}
    assert {r["KEY"] for r in root} == expected, caller
    assert {r["PARENT_KEY"] for r in route} == expected, caller
    for row in root:
        assert (row["full_name"], row["photo"]) == ((NAME, "photo.jpg") if sees.identities else ("", "")), caller
        assert row["age"] == "30"


def _check_xlsx(world: World, caller: str, sees: Sees) -> None:
    """XLSX export: the same rows as the CSV zip, one sheet per table."""
    from openpyxl import load_workbook

    response = world.get(caller, f"{FORM}/submissions.xlsx")
    if sees.records is None:
        assert response.status_code == 403, (caller, response.status_code)
        return
    assert response.status_code == 200, (caller, response.status_code)
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    root = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert {r["KEY"] for r in root} == {r.instance_id for r in RECORDS if r.key in sees.records}, caller
    for row in root:
        assert (row["full_name"], row["photo"]) == ((NAME, "photo.jpg") if sees.identities else (None, None)), caller


def _check_geojson(world: World, caller: str, sees: Sees) -> None:
    """GeoJSON export: a valid, scoped FeatureCollection (the sample form's records hold no geopoint)."""
    response = world.get(caller, f"{FORM}/submissions.geojson")
    if sees.records is None:
        assert response.status_code == 403, (caller, response.status_code)
        return
    assert response.status_code == 200, (caller, response.status_code)
    body = json.loads(response.get_data())
    assert body["type"] == "FeatureCollection" and body["features"] == []


def _check_odata(world: World, caller: str, sees: Sees) -> None:
    """OData as Central names it: the service document and $metadata for the roles that read records; the
    caller's records and their repeat rows exactly, sensitive answers null when redacted, one record 404
    outside the scope, and no filter on a sensitive field without identity access."""
    from urllib.parse import quote

    svc = f"{FORM}.svc"
    for suffix in ("", "/", "/$metadata", "/Submissions", "/Submissions.route"):
        response = world.get(caller, svc + suffix)
        assert response.status_code == (403 if sees.records is None else 200), (caller, suffix, response.status_code)
    if sees.records is None:
        return
    expected = {r.instance_id for r in RECORDS if r.key in sees.records}
    listed = world.get(caller, f"{svc}/Submissions?$expand=*").get_json()["value"]
    assert {r["__id"] for r in listed} == expected, caller
    for row in listed:
        assert (row["full_name"], row["photo"]) == ((NAME, "photo.jpg") if sees.identities else (None, None)), caller
        assert row["age"] == 30 and [p["place"] for p in row["route"]] == ["Vientiane", "Bangkok"]
    route = world.get(caller, f"{svc}/Submissions.route").get_json()["value"]
    assert {r["__Submissions-id"] for r in route} == expected, caller
    for record in RECORDS:
        response = world.get(caller, f"{svc}/Submissions('{quote(record.instance_id, safe='')}')")
        assert response.status_code == (200 if record.key in sees.records else 404), (caller, record.key)
    response = world.get(caller, f"{svc}/Submissions?$filter=full_name%20eq%20'{quote(NAME)}'")
    if sees.identities:
        assert {r["__id"] for r in response.get_json()["value"]} == expected, caller
    else:
        assert response.status_code == 403, (caller, response.status_code)


def _check_persons(world: World, caller: str, sees: Sees) -> None:
    """Person matching's lists: the roles that read records (scope and redaction: test_persons_api.py)."""
    for url in ("/v1/projects/1/persons/candidates", "/v1/projects/1/persons"):
        response = world.get(caller, url)
        assert response.status_code == (403 if sees.records is None else 200), (caller, url, response.status_code)


def _check_tasks(world: World, caller: str, sees: Sees) -> None:
    """Hand-off tasks: the roles that follow cases up (scope: test_tasks_api.py)."""
    from collector.api.tasks import TASK_READERS

    response = world.get(caller, "/v1/projects/1/tasks")
    allowed = sees.role in TASK_READERS
    assert response.status_code == (200 if allowed else 403), (caller, response.status_code)


def _check_ctdc(world: World, caller: str, sees: Sees) -> None:
    """The CTDC export: roles with the stats right get the CSV (its k-anonymity is tested in test_ctdc.py)."""
    from ingest.access import RIGHTS

    response = world.get(caller, "/v1/projects/1/ctdc.csv")
    counts = sees.role is not None and "stats" in RIGHTS[sees.role]
    assert response.status_code == (200 if counts else 403), (caller, response.status_code)
    if counts:
        assert response.get_data(as_text=True).startswith("yearOfRegistration,gender,")


def _check_handbook(world: World, caller: str, sees: Sees) -> None:
    """The printed handbook (issue 11): trainers and administrators only, the PDF of the current version."""
    response = world.get(caller, f"{FORM}/handbook.pdf?lang=en")
    allowed = sees.role in ("admin", "trainer")
    assert response.status_code == (200 if allowed else 403), (caller, response.status_code)
    if allowed:
        assert response.mimetype == "application/pdf" and response.get_data().startswith(b"%PDF")


def _check_console(world: World, caller: str, sees: Sees) -> None:
    """The web console (issue 11), signed in through its own form: every staff role sees the forms, trainers and
    administrators also the handbook links and the PDF; a device, which has no account, gets the sign-in page."""
    from tests.support.console import console_sign_in

    pages = ("/console/projects/1/forms", "/console/projects/1/forms/sample_case/handbook.pdf?lang=en")
    browser = world.client.application.test_client()
    if caller == "device":
        for url in pages:
            response = world.client.get(url.replace("/console", f"{world.device_prefix}/console", 1))
            assert response.status_code == 404, (caller, url, response.status_code)  # not below a device's URL
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], caller
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    allowed = sees.role in ("admin", "trainer")
    forms = browser.get(pages[0])
    assert forms.status_code == 200 and "<code>sample_case</code>" in forms.get_data(as_text=True), caller
    assert ("handbook.pdf" in forms.get_data(as_text=True)) is allowed, caller
    response = browser.get(pages[1])
    assert response.status_code == (200 if allowed else 403), (caller, response.status_code)
    if allowed:
        assert response.mimetype == "application/pdf" and response.get_data().startswith(b"%PDF")


def _check_console_records(world: World, caller: str, sees: Sees) -> None:
    """The console's submissions pages (issue 18): the forms' counts, the table and each record with its files,
    for the roles that read records, in their provinces (another's record 404), sensitive answers and files
    hidden from roles without identities; a device, which has no account, gets the sign-in page."""
    from forms.lao import strip_marks
    from tests.support.console import console_sign_in

    table = "/console/projects/1/forms/sample_case/submissions"
    record = table + "/{id}"
    browser = world.client.application.test_client()
    pages = ("/console/projects/1/submissions", table, record, record + "/files/photo.jpg")
    if caller == "device":
        for url in pages:
            response = browser.get(url.format(id=RECORDS[0].instance_id))
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], caller
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    if sees.records is None:
        for url in pages:
            response = browser.get(url.format(id=RECORDS[0].instance_id))
            assert response.status_code == 403, (caller, url, response.status_code)
        return
    counts = browser.get(pages[0]).get_data(as_text=True)
    assert re.search(rf"sample_case</code></td>\s*<td class=\"num\">{len(sees.records)}</td>", counts), caller
    listed = strip_marks(browser.get(f"{table}?col=full_name&col=age").get_data(as_text=True))
    shown = set(re.findall(r"uuid:matrix-[A-Z0-9]+(?=</a>)", listed))
    assert shown == {r.instance_id for r in RECORDS if r.key in sees.records}, caller
    assert (NAME in listed) is sees.identities, caller
    for one in RECORDS:
        response = browser.get(record.format(id=one.instance_id))
        if one.key not in sees.records:
            assert response.status_code == 404, (caller, one.key, response.status_code)
            assert browser.get(record.format(id=one.instance_id) + "/files/place.jpg").status_code == 404
            continue
        html = strip_marks(response.get_data(as_text=True))
        assert response.status_code == 200 and (NAME in html) is sees.identities, (caller, one.key)
        photo = browser.get(record.format(id=one.instance_id) + "/files/photo.jpg")
        assert photo.status_code == (200 if sees.identities else 403), (caller, one.key, photo.status_code)
        if sees.identities:
            assert photo.get_data() == JPEG + one.key.encode()
        photo.close()
        place = browser.get(record.format(id=one.instance_id) + "/files/place.jpg")
        assert place.status_code == 200 and place.get_data() == JPEG, (caller, one.key)
        place.close()


def _console_cases_world(world: World) -> dict[str, int]:
    """Give the world (once) two pairs of cases, one of province 01 and one of 05, and a task each province
    owes; return {first case code of a pair: pair id}."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from ingest.models import Case
    from ingest.person_models import PersonCandidate
    from ingest.persons import identities
    from ingest.task_models import Task
    from tests.support.persons import person

    db = world.client.application.extensions["collector.sessions"]()
    try:
        if db.scalar(select(Case.id).where(Case.case_code == "M01-a")) is None:
            identities.load_person_records(
                db, 1, [person(f"M{p}-{x}", p, "Matrix", f"Case{p}", 1990) for p in ("01", "05") for x in "ab"]
            )
            ids = dict(db.execute(select(Case.case_code, Case.id)).all())
            for p in ("01", "05"):
                db.add(PersonCandidate(project_id=1, case_a=f"M{p}-a", case_b=f"M{p}-b", score=0.9, evidence={}))
                opened = datetime(2026, 11, 20, tzinfo=UTC)
                db.add(
                    Task(
                        project_id=1,
                        case_id=ids[f"M{p}-a"],
                        case_code=f"M{p}-a",
                        status="open",
                        home_province=p,
                        origin_province="13",
                        opened_at=opened,
                    )
                )
            db.commit()
        return dict(db.execute(select(PersonCandidate.case_a, PersonCandidate.id)).all())
    finally:
        db.close()


def _check_console_cases(world: World, caller: str, sees: Sees) -> None:
    """The console's case register (records right), hand-off tasks (the API's task readers) and duplicate-person
    queue and pair page (records and identities): a provincial officer sees their province's only, anywhere."""
    from ingest.access import RIGHTS
    from ingest.cases.tasks import TASK_READERS
    from tests.support.console import console_sign_in

    pairs = _console_cases_world(world)
    pages = {
        "cases": "/console/projects/1/cases",
        "tasks": "/console/projects/1/tasks",
        "persons": "/console/projects/1/persons",
    }
    browser = world.client.application.test_client()
    if caller == "device":
        for url in [*pages.values(), f"/console/projects/1/persons/pairs/{pairs['M01-a']}"]:
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], caller
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    rights = RIGHTS[sees.role or ""]
    allowed = {
        "cases": "records" in rights,
        "tasks": sees.role in TASK_READERS,
        "persons": {"records", "identities"} <= rights,
    }
    shown = {p for p in ("01", "05") if not sees.provinces or p in sees.provinces}
    for name, url in pages.items():
        response = browser.get(url)
        assert response.status_code == (200 if allowed[name] else 403), (caller, name, response.status_code)
        if allowed[name]:
            page = response.get_data(as_text=True)
            assert {p for p in ("01", "05") if f"M{p}-a" in page} == shown, (caller, name)
    for p in ("01", "05"):
        response = browser.get(f"/console/projects/1/persons/pairs/{pairs[f'M{p}-a']}")
        expected = 403 if not allowed["persons"] else 200 if p in shown else 404
        assert response.status_code == expected, (caller, p, response.status_code)
        assert (f"Case{p}" in response.get_data(as_text=True)) is (expected == 200), (caller, p)


def _check_console_exports(world: World, caller: str, sees: Sees) -> None:
    """The console's exports page (issue 18 page 6): the roles that read records get the page and a download
    scoped and redacted as the API's export; others 403; a device the sign-in page. A job of nobody's is 404."""
    import uuid

    from tests.support.console import console_sign_in, csrf_of
    from tests.support.exports import read_zip

    page = "/console/projects/1/exports"
    job = f"{page}/jobs/{uuid.uuid4()}"
    browser = world.client.application.test_client()
    if caller == "device":
        for url in (page, job, f"{job}/file"):
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], caller
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    response = browser.get(page)
    assert response.status_code == (403 if sees.records is None else 200), (caller, response.status_code)
    token = csrf_of(browser.get("/console/projects/1/forms"))
    data = {"csrf_token": token, "form": "sample_case", "format": "csv", "bom": "true"}
    download = browser.post(page, data=data)
    body = download.get_data()
    download.close()
    for url in (job, f"{job}/file"):  # no Redis here: no job, whoever asks
        assert browser.get(url).status_code == (403 if sees.records is None else 404), (caller, url)
    if sees.records is None:
        assert download.status_code == 403 and NAME.encode() not in body, caller
        return
    assert download.status_code == 200, (caller, download.status_code)
    root = read_zip(body)["sample_case.csv"]["rows"]
    assert {r["KEY"] for r in root} == {r.instance_id for r in RECORDS if r.key in sees.records}, caller
    for row in root:
        assert (row["full_name"], row["photo"]) == ((NAME, "photo.jpg") if sees.identities else ("", "")), caller


#: The console's forms pages for trainers (issue 18, page 1), and what a page or download of each must hold.
CONSOLE_FORMS = {
    "/console/projects/1/forms/new": ("text/html", 'name="xlsform"'),
    "/console/projects/1/forms/sample_case": ("text/html", "/draft/qr.png"),
    "/console/projects/1/forms/sample_case/draft/qr.png": ("image/png", b"\x89PNG"),
    "/console/projects/1/forms/sample_case/versions/2026112901.xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK",
    ),
    "/console/projects/1/forms/sample_case/versions/2026112901.xml": ("text/xml", "<h:html"),
}


def _check_console_forms(world: World, caller: str, sees: Sees) -> None:
    """The forms pages (upload, a form with its draft's test QR code, each version's XLSForm and XForm): trainers
    and administrators only; other roles get a 403 page, a device (no account) the sign-in page."""
    from tests.support.console import console_sign_in

    browser = world.client.application.test_client()
    if caller != "device":
        assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    allowed = sees.role in ("admin", "trainer")
    for url, (mimetype, holds) in CONSOLE_FORMS.items():
        response = browser.get(url)
        body = response.get_data(as_text=isinstance(holds, str))
        if caller == "device":
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], (caller, url)
        elif not allowed:
            assert response.status_code == 403 and response.mimetype == "text/html", (caller, url)
        else:
            assert response.status_code == 200 and response.mimetype == mimetype, (caller, url, response.status_code)
            assert body.startswith(holds) if isinstance(holds, bytes) else holds in body, (caller, url)


def _check_console_devices_and_admin(world: World, caller: str, sees: Sees) -> None:
    """The console's tablets (issue 18 page 2: trainers and administrators, every tablet for these national
    callers) and its users and audit pages (page 7: administrators only, the audit as CSV too); a device, which
    has no account, gets the sign-in page."""
    from sqlalchemy import select

    from ingest.models import Device
    from tests.support.console import console_sign_in

    db = world.client.application.extensions["collector.sessions"]()
    tablets = dict(db.execute(select(Device.display_name, Device.id)).all())
    db.close()
    tablet = tablets["Tablet 05"]
    devices = ("/console/devices", f"/console/devices/{tablet}", f"/console/devices/{tablet}/qr.png")
    admin = ("/console/users", "/console/users/1", "/console/audit", "/console/audit.csv")
    pages = (*devices, "/console/devices/course", *admin)
    browser = world.client.application.test_client()
    if caller == "device":
        for url in pages:
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], (caller, url)
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    trains = sees.role in ("admin", "trainer")
    for url in pages:
        allowed = trains if url.startswith("/console/devices") else sees.role == "admin"
        response = browser.get(url)
        assert response.status_code == (200 if allowed else 403), (caller, url, response.status_code)
    if trains:
        listing = browser.get(devices[0]).get_data(as_text=True)
        assert "Tablet 01" in listing and "Tablet 05" in listing, caller
        assert browser.get(devices[2]).data.startswith(b"\x89PNG"), caller
    if sees.role == "admin":
        assert "submission.read" in browser.get("/console/audit?action=submission").get_data(as_text=True)
        assert browser.get("/console/audit.csv").data.decode("utf-8-sig").startswith("loggedAt,userEmail,")
        assert f"{caller}@example.la" in browser.get("/console/users").get_data(as_text=True)


#: The console's dashboard (issue 18 page 5): the page, and one chart's table (CSV) and picture (SVG).
DASHBOARD = (
    "/console/projects/1/dashboard?lang=en",
    "/console/projects/1/dashboard/province.csv",
    "/console/projects/1/dashboard/province.svg",
)


def _check_console_dashboard(world: World, caller: str, sees: Sees) -> None:
    """The dashboard: every role with the stats right gets the page and its downloads, counts only (never a
    record's name or instanceID); other roles get 403; a device, which has no account, the sign-in page."""
    from ingest.access import RIGHTS
    from tests.support.console import console_sign_in

    browser = world.client.application.test_client()
    if caller == "device":
        for url in DASHBOARD:
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], caller
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    counts = sees.role is not None and "stats" in RIGHTS[sees.role]
    for url in DASHBOARD:
        response = browser.get(url)
        assert response.status_code == (200 if counts else 403), (caller, url, response.status_code)
        body = response.get_data(as_text=True)
        assert NAME not in body and "uuid:matrix" not in body, (caller, url)
        if counts and url.endswith(".csv"):
            assert body.lstrip("\ufeff").startswith("province,label,count"), (caller, url)


#: The pages that fill the sample form in the browser (issue 19): the list, the page, its XForm and a media file.
FILL = (
    "/console/projects/1/fill",
    "/console/projects/1/forms/sample_case/fill",
    "/console/projects/1/forms/sample_case/fill/form.xml",
    "/console/projects/1/forms/sample_case/fill/media/provinces.csv",
)


def _matrix_desks(world: World) -> tuple[str, str]:
    """Return the tokens of a live and a revoked desk link of province 05, made once per world."""
    if not world.desks:
        from ingest import scope
        from ingest.access import SYSTEM
        from ingest.accounts.admin import add_desk, end_desk

        db = world.client.application.extensions["collector.sessions"]()
        scope.use(db, SYSTEM)
        live, gone = add_desk(db, 1, "Matrix desk", "05"), add_desk(db, 1, "Matrix old desk", "05")
        end_desk(db, gone)
        db.commit()
        world.desks = (live.token, gone.token)
        db.close()
    return world.desks[0], world.desks[1]


def _check_console_fill(world: World, caller: str, sees: Sees) -> None:
    """Forms filled in the browser: the roles that may send records (administrators, case and provincial
    officers) get the pages, the XForm and its media, others 403; the desk links' page is administrators' only. A
    desk link's own pages need no account: a live desk gets them, a revoked one and a tablet's token get 403."""
    from ingest.access import RIGHTS
    from tests.support.console import console_sign_in

    live, gone = _matrix_desks(world)
    desk_pages = (
        "/console/desk/{}/",
        "/console/desk/{}/forms/sample_case",
        "/console/desk/{}/forms/sample_case/form.xml",
        "/console/desk/{}/forms/sample_case/media/provinces.csv",
    )
    browser = world.client.application.test_client()
    if caller == "device":
        tablet = world.device_prefix.rsplit("/", 1)[-1]
        for url in (*FILL, "/console/desks"):
            response = browser.get(url)
            assert response.status_code == 302 and "/console/login" in response.headers["Location"], (caller, url)
        for page in desk_pages:
            for token, status in ((live, 200), (gone, 403), (tablet, 403)):
                response = browser.get(page.format(token))
                response.close()
                assert response.status_code == status, (page, status, response.status_code)
        return
    assert console_sign_in(browser, f"{caller}@example.la", PASSWORD).status_code == 302, caller
    sends = sees.role is not None and "submit" in RIGHTS[sees.role]
    for url in FILL:
        response = browser.get(url)
        response.get_data()
        response.close()
        assert response.status_code == (200 if sends else 403), (caller, url, response.status_code)
    desks = browser.get("/console/desks")
    assert desks.status_code == (200 if sees.role == "admin" else 403), (caller, desks.status_code)
    assert (live in desks.get_data(as_text=True)) is (sees.role == "admin"), caller


#: The entities each caller reads of tests.support.entity_lists' list (province 01, 05, and 05 refusing consent).
ENTITIES_SEEN = {
    "admin": {"E01", "E05", "W05"},
    "case-officer": {"E01", "E05"},
    "provincial-officer-05": {"E05", "W05"},
    "provincial-officer-01": {"E01"},
    "analyst": {"E01", "E05"},
}


def _check_entities(world: World, caller: str, sees: Sees) -> None:
    """Entity lists (issue 19): the roles that read records read their provinces' entities (a refused consent
    stays in its province), labels hidden without identities, over JSON, CSV and OData; others 403."""
    from sqlalchemy import select

    from ingest.entity_models import Dataset
    from tests.support.entity_lists import ENTITIES, seed

    db = world.client.application.extensions["collector.sessions"]()
    try:
        if db.scalar(select(Dataset.id).where(Dataset.name == "cases")) is None:
            seed(db)
    finally:
        db.close()
    by_uuid = {e.uuid: e.key for e in ENTITIES}
    base = "/v1/projects/1/datasets/cases"
    urls = (f"{base}/entities", f"{base}/entities.csv", f"{base}.svc", f"{base}.svc/", f"{base}.svc/$metadata")
    for url in urls:
        response = world.get(caller, url)
        assert response.status_code == (403 if sees.records is None else 200), (caller, url, response.status_code)
    if sees.records is None:
        return
    expected = ENTITIES_SEEN[caller]
    listed = world.client.get(f"{base}/entities", headers=world.auth[caller]).get_json()
    assert {by_uuid[e["uuid"]] for e in listed} == expected, caller
    rows = world.client.get(f"{base}.svc/Entities", headers=world.auth[caller]).get_json()["value"]
    assert {by_uuid[r["__id"]] for r in rows} == expected, caller
    assert all((r["label"] is not None) is sees.identities for r in rows), caller
    for item in ENTITIES:
        for suffix in ("", "/versions"):
            response = world.get(caller, f"{base}/entities/{item.uuid}{suffix}")
            assert response.status_code == (200 if item.key in expected else 404), (caller, item.key, suffix)


ONE = "/v1/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>"
PATHS = (
    Path("list", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/submissions",), _check_list),
    Path("get", (ONE,), _record_path("", _shows_json)),
    Path("xml", (f"{ONE}.xml",), _record_path(".xml", _shows_xml)),
    Path("versions", (f"{ONE}/versions",), _record_path("/versions", _shows_json)),
    Path("version", (f"{ONE}/versions/<version_id>",), _record_path("/versions/{id}", _shows_json)),
    Path("version xml", (f"{ONE}/versions/<version_id>.xml",), _record_path("/versions/{id}.xml", _shows_xml)),
    Path("files", (f"{ONE}/attachments",), _record_path("/attachments", _shows_file_list)),
    Path(
        "sensitive file", (f"{ONE}/attachments/<name>",), _record_path("/attachments/photo.jpg", _shows_sensitive_file)
    ),
    Path("plain file", (f"{ONE}/attachments/<name>",), _record_path("/attachments/place.jpg", _shows_plain_file)),
    Path("comments", (f"{ONE}/comments",), _check_comments),
    Path("draft test data", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/draft/submissions",), _check_drafts),
    Path("audit", ("/v1/audits",), _check_audit),
    Path("statistics", ("/v1/projects/<int:project_id>/stats",), _check_stats),
    Path("case register", ("/v1/projects/<int:project_id>/cases",), _check_cases),
    Path("csv zip export", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/submissions.csv.zip",), _check_csv_zip),
    Path("xlsx export", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/submissions.xlsx",), _check_xlsx),
    Path("geojson export", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/submissions.geojson",), _check_geojson),
    Path("CTDC export", ("/v1/projects/<int:project_id>/ctdc.csv",), _check_ctdc),
    Path(
        "persons",
        ("/v1/projects/<int:project_id>/persons/candidates", "/v1/projects/<int:project_id>/persons"),
        _check_persons,
    ),
    Path("tasks", ("/v1/projects/<int:project_id>/tasks",), _check_tasks),
    Path("handbook", ("/v1/projects/<int:project_id>/forms/<xml_form_id>/handbook.pdf",), _check_handbook),
    Path(
        "console",
        (
            "/console/projects/<int:project_id>/forms",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/handbook.pdf",
        ),
        _check_console,
    ),
    Path(
        "console tablets, users and audit",
        (
            "/console/devices",
            "/console/devices/<int:device_id>",
            "/console/devices/<int:device_id>/qr.png",
            "/console/devices/course",
            "/console/users",
            "/console/users/<int:user_id>",
            "/console/audit",
            "/console/audit.csv",
        ),
        _check_console_devices_and_admin,
    ),
    Path(
        "console submissions",
        (
            "/console/projects/<int:project_id>/submissions",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/submissions",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/submissions/<path:instance_id>",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/submissions/<path:instance_id>/files/<name>",
        ),
        _check_console_records,
    ),
    Path(
        "console cases, tasks and persons",
        (
            "/console/projects/<int:project_id>/cases",
            "/console/projects/<int:project_id>/tasks",
            "/console/projects/<int:project_id>/persons",
            "/console/projects/<int:project_id>/persons/pairs/<int:pair_id>",
        ),
        _check_console_cases,
    ),
    Path(
        "console exports",
        (
            "/console/projects/<int:project_id>/exports",
            "/console/projects/<int:project_id>/exports/jobs/<job_id>",
            "/console/projects/<int:project_id>/exports/jobs/<job_id>/file",
        ),
        _check_console_exports,
    ),
    Path(
        "console forms",
        (
            "/console/projects/<int:project_id>/forms/new",
            "/console/projects/<int:project_id>/forms/<xml_form_id>",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/draft/qr.png",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xlsx",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xml",
        ),
        _check_console_forms,
    ),
    Path(
        "console web forms and desk links",
        (
            "/console/projects/<int:project_id>/fill",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/fill",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/fill/form.xml",
            "/console/projects/<int:project_id>/forms/<xml_form_id>/fill/media/<name>",
            "/console/desks",
            "/console/desk/<token>/",
            "/console/desk/<token>/forms/<xml_form_id>",
            "/console/desk/<token>/forms/<xml_form_id>/form.xml",
            "/console/desk/<token>/forms/<xml_form_id>/media/<name>",
        ),
        _check_console_fill,
    ),
    Path(
        "odata",
        tuple(
            f"/v1/projects/<int:project_id>/forms/<xml_form_id>.svc{suffix}"
            for suffix in ("", "/", "/$metadata", "/<path:resource>")
        ),
        _check_odata,
    ),
    Path(
        "draft odata",
        tuple(
            f"/v1/projects/<int:project_id>/forms/<xml_form_id>/draft.svc{suffix}"
            for suffix in ("", "/", "/$metadata", "/<path:resource>")
        ),
        _check_draft_odata,
    ),
    Path(
        "console dashboard",
        (
            "/console/projects/<int:project_id>/dashboard",
            "/console/projects/<int:project_id>/dashboard/<name>.csv",
            "/console/projects/<int:project_id>/dashboard/<name>.svg",
        ),
        _check_console_dashboard,
    ),
    Path(
        "entities",
        tuple(
            f"/v1/projects/<int:project_id>/datasets/<name>{suffix}"
            for suffix in (
                "/entities",
                "/entities/<uuid>",
                "/entities/<uuid>/versions",
                "/entities.csv",
                ".svc",
                ".svc/",
                ".svc/$metadata",
                ".svc/<path:resource>",
            )
        ),
        _check_entities,
    ),
    Path("CLI --as", (), _check_cli),
)


@pytest.fixture
def world(app, client, runner, db_session, published_form):
    from ingest.accounts.users import assign_forms, create_device, create_user

    devices = {p: create_device(db_session, 1, f"Tablet {p}", p) for p in ("01", "05")}
    for device in devices.values():
        assign_forms(db_session, device, None)
    world = World(client, runner)
    for caller, sees in CALLERS.items():
        if sees.role:
            create_user(db_session, f"{caller}@example.la", PASSWORD, sees.role, provinces=sees.provinces)
            world.auth[caller] = _basic(f"{caller}@example.la", PASSWORD)
    db_session.commit()
    world.device_prefix = f"/v1/key/{devices['01'].token}"
    for record in RECORDS:
        xml = (
            make_instance(record.instance_id, name=NAME, place_photos=("place.jpg",))
            .replace(b"<province>01</province>", f"<province>{record.province}</province>".encode())
            .replace(b"<consent>yes</consent>", f"<consent>{record.consent}</consent>".encode())
        )
        files = {"photo.jpg": JPEG + record.key.encode(), "place.jpg": JPEG}
        if record.sender in world.auth:  # a user sends through Collect signed in, as a device would
            data = {
                "xml_submission_file": (io.BytesIO(xml), "x.xml", "text/xml"),
                **{name: (io.BytesIO(body), name, "image/jpeg") for name, body in files.items()},
            }
            response = client.post(
                "/v1/projects/1/submission",
                data=data,
                content_type="multipart/form-data",
                headers={"X-OpenRosa-Version": "1.0", **world.auth[record.sender]},
            )
        else:
            response = post(client, devices[record.sender.removeprefix("device-") or record.province], xml, files)
        assert response.status_code == 201, response.data
    _draft_with_test_record(world, client)
    # One identifiable read by the admin, so the audit path has something to show.
    assert world.get("admin", f"{FORM}/submissions/{RECORDS[0].instance_id}").status_code == 200
    return world


def _draft_with_test_record(world: World, client) -> None:
    from tests.conftest import DATA

    response = client.post(
        f"{FORM}/draft",
        data=(DATA / "sample_case_v2.xlsx").read_bytes(),
        headers=world.auth["admin"],
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert response.status_code in (200, 201), response.data
    token = response.get_json()["testUrl"].split("/v1/test/", 1)[1].split("/", 1)[0]
    draft = make_instance("uuid:matrix-draft", name=NAME, version="2026120101", photo=None)
    response = client.post(
        f"/v1/test/{token}/projects/1/forms/sample_case/draft/submission",
        data={"xml_submission_file": (io.BytesIO(draft), "x.xml", "text/xml")},
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0"},
    )
    assert response.status_code == 201, response.data


@pytest.mark.parametrize("caller", list(CALLERS))
def test_matrix(world, caller):
    sees = CALLERS[caller]
    failures = []
    for path in PATHS:
        try:
            path.check(world, caller, sees)
        except AssertionError as exc:
            failures.append(f"{path.name}: {exc}")
    assert not failures, f"{caller}:\n" + "\n".join(failures)


#: Rules that return submission data, found by their shape; a new one must join PATHS (or this list).
DATA_ROUTE = re.compile(r"submissions|audits|\.svc|/cases|/stats|export|/persons|/tasks|\.csv|\.xlsx\b|geojson")
#: Data routes that only write (their refusals are tested in the write-path tests).
WRITE_ONLY = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_data_route_is_in_the_matrix(app):
    covered = {rule for path in PATHS for rule in path.rules}
    missing = []
    for rule in app.url_map.iter_rules():
        if not (rule.methods or set()) - WRITE_ONLY - {"HEAD", "OPTIONS"}:
            continue
        plain = re.sub(r"^/v1/key/<token>", "/v1", rule.rule)
        if plain.startswith("/v1/test/"):
            continue  # the draft test URLs only receive (Collect's submission probe answers no data)
        if DATA_ROUTE.search(plain) and "versions/<version>.x" not in plain and plain not in covered:
            missing.append(f"{sorted(rule.methods)} {rule.rule}")
    assert not missing, "read paths missing from the access matrix:\n" + "\n".join(missing)


#: Console rules that show no data: signing in and out, the start page, style sheets and scripts, the catch-all.
CONSOLE_FRAME = {
    "/console/login",
    "/console/logout",
    "/console/",
    "/console/static/<path:filename>",
    "/console/<console_rest:_rest>",
}


def test_every_console_page_and_download_is_in_the_matrix(app):
    """Every page of the console that answers a GET joins PATHS (a row with what each role sees there)."""
    covered = {rule for path in PATHS for rule in path.rules}
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/console/")
        and "GET" in (rule.methods or set())
        and rule.rule not in CONSOLE_FRAME
        and rule.rule not in covered
    ]
    assert not missing, "console pages missing from the access matrix:\n" + "\n".join(missing)


def test_a_device_is_refused_on_every_staff_path(app, client, device):
    """Walk the app's routes below /v1/key/<token>/: every one that is not OpenRosa answers a device 403."""
    values = {
        "project_id": 1,
        "xml_form_id": "sample_case",
        "instance_id": "uuid:x",
        "name": "photo.jpg",
        "device_id": device.id,
        "version": "1",
        "version_id": "uuid:x",
        "kind": "png",
        "user_id": 1,
        "role_id": 2,
        "token_id": 1,
        "resource": "Submissions",
        "uuid": "00000000-0000-4000-8000-000000000001",
    }
    tried = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/key/<token>") or rule.endpoint.startswith("openrosa_key."):
            continue
        if rule.endpoint == "sessions_key.create_session":
            continue  # signing in needs no account; a device has none to sign in with
        path = rule.rule.replace("<token>", device.token)
        for argument in rule.arguments - {"token"}:
            path = re.sub(rf"<(?:[^:<>]+:)?{argument}(?:\([^)]*\))?>", str(values[argument]), path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            response.close()
            assert response.status_code == 403, (method, rule.rule, response.status_code)
            tried += 1
    assert tried > 30
