"""The streamed CSV zip export: read back and compared with what was submitted, across form versions."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile

import pytest
from sqlalchemy import select

from ingest.exports import csv_zip as export_csv
from ingest.exports import walk as exports
from ingest.models import AuditEvent
from tests.conftest import ADMIN_PASSWORD, make_instance
from tests.support.exports import URL, _basic, _sample_v3, download, read_zip
from tests.support.openrosa import JPEG, post

ROOT_HEADER = [
    "SubmissionDate",
    "consent",
    "full_name",
    "age",
    "indicators",
    "province",
    "photo",
    "meta-instanceID",
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
]


@pytest.fixture
def auth(admin):
    return _basic(admin[0], ADMIN_PASSWORD)


def test_export_reads_back_root_and_repeat_rows(client, device, auth, db_session):
    first, second = "uuid:export-1", "uuid:export-2"
    assert (
        post(
            client, device, make_instance(first, name="ນາງ ສົມໃຈ", place_photos=("place.jpg",)), {"photo.jpg": JPEG}
        ).status_code
        == 201
    )
    assert (
        post(
            client, device, make_instance(second, name='Somchai, "Tee"', age="41", places=(("Pakse", "3"),), photo=None)
        ).status_code
        == 201
    )
    response = client.get(URL, headers=auth)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="sample_case.csv.zip"' in response.headers["Content-Disposition"]
    tables = read_zip(response.get_data())
    response.close()
    assert list(tables) == ["sample_case.csv", "sample_case-route.csv"]
    root = tables["sample_case.csv"]
    assert root["header"] == ROOT_HEADER
    one, two = root["rows"]
    assert (
        one["KEY"],
        one["meta-instanceID"],
        one["full_name"],
        one["age"],
        one["indicators"],
        one["province"],
        one["photo"],
    ) == (first, first, "ນາງ ສົມໃຈ", "30", "deception debt", "01", "photo.jpg")
    assert (one["SubmitterID"], one["SubmitterName"], one["DeviceID"], one["Edits"], one["FormVersion"]) == (
        str(device.id),
        "Test tablet",
        "collect:abc123",
        "0",
        "2026112901",
    )
    assert (one["AttachmentsPresent"], one["AttachmentsExpected"]) == ("1", "2")  # place.jpg not sent
    assert one["SubmissionDate"].endswith("Z") and one["Status"] == "" and one["ReviewState"] == ""
    assert (two["full_name"], two["age"], two["photo"]) == ('Somchai, "Tee"', "41", "")
    route = tables["sample_case-route.csv"]
    assert route["header"] == ["place", "days", "place_photo", "PARENT_KEY", "KEY"]
    assert [(r["place"], r["days"], r["place_photo"], r["PARENT_KEY"], r["KEY"]) for r in route["rows"]] == [
        ("Vientiane", "2", "place.jpg", first, f"{first}/route[1]"),
        ("Bangkok", "10", "", first, f"{first}/route[2]"),
        ("Pakse", "3", "", second, f"{second}/route[1]"),
    ]
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).all()
    assert [(e.resource, e.details) for e in events] == [("form:sample_case", {"count": 2, "format": "csv"})]


def test_export_of_an_edited_record_shows_the_edit(client, device, auth):
    assert post(client, device, make_instance("uuid:export-old", age="30")).status_code == 201
    assert (
        post(client, device, make_instance("uuid:export-new", age="31", deprecated_id="uuid:export-old")).status_code
        == 201
    )
    rows = read_zip(download(client, auth))["sample_case.csv"]["rows"]
    assert [(r["KEY"], r["meta-instanceID"], r["age"], r["Edits"]) for r in rows] == [
        ("uuid:export-old", "uuid:export-new", "31", "1")
    ]


def test_columns_are_the_union_of_every_published_version(app, client, device, auth, db_session, tmp_path):
    from forms.compiler import compile_xlsform
    from ingest.publishing.versions import publish

    assert post(client, device, make_instance("uuid:export-v1")).status_code == 201
    _sample_v3(tmp_path / "v3.xlsx")
    publish(db_session, app.extensions["collector.store"], 1, compile_xlsform(tmp_path / "v3.xlsx"), {})
    db_session.commit()
    v3 = (
        make_instance("uuid:export-v3", version="2026120301", places=(("Luang Prabang", "4"),))
        .replace(b"<age>30</age>", b"")
        .replace(
            b"<photo>photo.jpg</photo>",
            b"<photo>photo.jpg</photo><grp_case><interview_date>2026-12-01</interview_date></grp_case>",
        )
        .replace(b"<days>4</days>", b"<days>4</days><transport>bus</transport>")
    )
    assert post(client, device, v3).status_code == 201
    tables = read_zip(download(client, auth))
    root, route = tables["sample_case.csv"], tables["sample_case-route.csv"]
    # age keeps its column though v3 dropped it; v3's group comes after photo, meta stays last.
    assert root["header"][:9] == [
        "SubmissionDate",
        "consent",
        "full_name",
        "age",
        "indicators",
        "province",
        "photo",
        "grp_case-interview_date",
        "meta-instanceID",
    ]
    old, new = root["rows"]
    assert (old["age"], old["grp_case-interview_date"], old["FormVersion"]) == ("30", "", "2026112901")
    assert (new["age"], new["grp_case-interview_date"], new["FormVersion"]) == ("", "2026-12-01", "2026120301")
    assert route["header"] == ["place", "days", "transport", "place_photo", "PARENT_KEY", "KEY"]
    assert [(r["place"], r["transport"], r["KEY"]) for r in route["rows"]] == [
        ("Vientiane", "", "uuid:export-v1/route[1]"),
        ("Bangkok", "", "uuid:export-v1/route[2]"),
        ("Luang Prabang", "bus", "uuid:export-v3/route[1]"),
    ]


def test_export_of_a_form_without_records_is_headers_only(client, published_form, auth):
    tables = read_zip(download(client, auth))
    assert tables["sample_case.csv"] == {"header": ROOT_HEADER, "rows": []}
    assert tables["sample_case-route.csv"] == {
        "header": ["place", "days", "place_photo", "PARENT_KEY", "KEY"],
        "rows": [],
    }


def test_export_of_an_unknown_form_is_404(client, published_form, auth):
    response = client.get("/v1/projects/1/forms/nope/submissions.csv.zip", headers=auth)
    response.close()
    assert response.status_code == 404


class _Tracked(tempfile.SpooledTemporaryFile):
    made: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made.append(self)


def test_a_client_that_goes_away_stops_the_export_and_frees_its_files(client, device, auth, monkeypatch, caplog):
    for i in range(3):
        assert post(client, device, make_instance(f"uuid:export-close-{i}")).status_code == 201
    monkeypatch.setattr(exports, "BATCH", 1)
    monkeypatch.setattr(_Tracked, "made", [])
    monkeypatch.setattr(export_csv.tempfile, "SpooledTemporaryFile", _Tracked)
    pages = []
    real = exports.rows_of
    monkeypatch.setattr(exports, "rows_of", lambda *a: pages.append(1) or real(*a))
    caplog.set_level(logging.INFO, logger="ingest.exports.walk")
    response = client.get(URL, headers=auth, buffered=False)
    assert response.status_code == 200
    chunks = response.iter_encoded()
    assert next(chunks).startswith(b"PK")
    response.close()
    assert _Tracked.made and all(spool.closed for spool in _Tracked.made)
    assert len(pages) == 1  # the second page was never read
    assert [r.getMessage() for r in caplog.records if r.name == "ingest.exports.walk"] == [
        "Export of form sample_case (csv) stopped after 1 record(s): the client went away"
    ]


def test_cli_export_writes_the_zip_as_the_named_user(runner, client, device, db_session, tmp_path):
    from ingest.accounts.users import create_user

    create_user(db_session, "analyst@example.la", "a long enough password", "analyst")
    db_session.commit()
    assert post(client, device, make_instance("uuid:export-cli", name="Secret Name")).status_code == 201
    out = tmp_path / "out.csv.zip"
    result = runner.invoke(["export", "sample_case", "--format", "csv", "-o", str(out), "--as", "analyst@example.la"])
    assert result.exit_code == 0, result.output
    assert "1 record(s) written" in result.stderr
    rows = read_zip(out.read_bytes())["sample_case.csv"]["rows"]
    assert [(r["KEY"], r["full_name"], r["photo"], r["age"]) for r in rows] == [("uuid:export-cli", "", "", "30")]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).one()
    assert (event.address, event.details) == ("cli", {"count": 1, "format": "csv"})


def test_cli_export_refuses_a_role_without_records(runner, published_form, db_session, tmp_path):
    from ingest.accounts.users import create_user

    create_user(db_session, "stats@example.la", "a long enough password", "statistician")
    db_session.commit()
    result = runner.invoke(["export", "sample_case", "-o", str(tmp_path / "x.zip"), "--as", "stats@example.la"])
    assert result.exit_code == 1 and "may not read records" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_export_filters_by_province_review_state_and_date(client, national_device, auth, db_session):
    from ingest.models import Submission

    device = national_device  # the records name two provinces

    for key, province in (("a", "01"), ("b", "05"), ("c", "05")):
        xml = make_instance(f"uuid:export-f-{key}").replace(
            b"<province>01</province>", f"<province>{province}</province>".encode()
        )
        assert post(client, device, xml).status_code == 201
    record = db_session.scalar(select(Submission).where(Submission.instance_id == "uuid:export-f-c"))
    record.review_state = "approved"
    db_session.commit()

    def keys(query: str) -> list[str]:
        rows = read_zip(download(client, auth, f"{URL}?{query}"))["sample_case.csv"]["rows"]
        return [r["KEY"].rsplit("-", 1)[1] for r in rows]

    assert keys("province=05") == ["b", "c"]
    assert keys("province=05&reviewState=received") == ["b"]
    assert keys("reviewState=approved&reviewState=received") == ["a", "b", "c"]
    assert keys("start=2000-01-01&end=2999-12-31") == ["a", "b", "c"]
    assert keys("end=2000-01-01") == []
    for bad in ("reviewState=lost", "start=yesterday"):
        response = client.get(f"{URL}?{bad}", headers=auth)
        response.close()
        assert response.status_code == 400, bad


# --- formula injection ------------------------------------------------------------------------------------

#: Answers a hostile tablet may send, as a spreadsheet would read them if written verbatim.
FORMULAS = [
    '=HYPERLINK("http://x.invalid","y")',
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "-2+3",
]


def _xml_text(value: str) -> str:
    # A carriage return in XML text is read as a line feed: sent as a character reference, as a tablet could.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;")


def _post_formulas(client, device) -> None:
    for i, value in enumerate(FORMULAS):
        text = _xml_text(value)
        xml = make_instance(f"uuid:formula-{i}", name=text, age="-5", places=((text, "=1+1"),), photo=None)
        assert post(client, device, xml).status_code == 201


def test_csv_export_neutralises_text_that_would_start_a_formula(client, device, auth):
    _post_formulas(client, device)
    data = download(client, auth)
    tables = read_zip(data)
    root, route = tables["sample_case.csv"]["rows"], tables["sample_case-route.csv"]["rows"]
    assert [r["full_name"] for r in root] == ["'" + v for v in FORMULAS]
    assert [r["place"] for r in route] == ["'" + v for v in FORMULAS]
    # Numbers stay numbers; a text answer to a number question ("=1+1", kept as sent) is text like any other.
    assert {r["age"] for r in root} == {"-5"} and {r["days"] for r in route} == {"'=1+1"}
    # Each neutralised cell is quoted (OWASP), its own quotes doubled.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read("sample_case.csv").decode()
    assert '"\'=HYPERLINK(""http://x.invalid"",""y"")"' in text and ',"\'+SUM(1+1)",' in text
    assert ",-5," in text


def test_csv_export_raw_writes_text_as_received_and_is_audited(client, device, auth, db_session):
    _post_formulas(client, device)
    tables = read_zip(download(client, auth, f"{URL}?raw=true"))
    assert [r["full_name"] for r in tables["sample_case.csv"]["rows"]] == FORMULAS
    assert [r["place"] for r in tables["sample_case-route.csv"]["rows"]] == FORMULAS
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).one()
    assert event.details == {"count": len(FORMULAS), "format": "csv", "raw": True}
    response = client.get(f"{URL}?raw=yes", headers=auth)
    assert response.status_code == 400 and "?raw= must be true or false." in response.get_json()["error"]


def test_csv_export_leaves_geopoint_numbers_but_not_geopoint_text():
    from ingest.exports.walk import NumberText

    assert [export_csv.csv_cell(NumberText(v)) for v in ("-17.96", "+5", "=1+1")] == ["-17.96", "+5", "'=1+1"]
    assert [export_csv.csv_cell(v) for v in (-5, -2.0, ["-a", "b"], None)] == ["-5", "-2", "'-a b", ""]


def test_cli_export_neutralises_formulas_unless_raw(runner, client, device, admin, db_session, tmp_path):
    _post_formulas(client, device)
    for flags, expected in (((), ["'" + v for v in FORMULAS]), (("--raw",), FORMULAS)):
        out = tmp_path / f"out{len(flags)}.csv.zip"
        result = runner.invoke(["export", "sample_case", "-o", str(out), "--as", admin[0], *flags])
        assert result.exit_code == 0, result.output
        tables = read_zip(out.read_bytes())
        assert [r["full_name"] for r in tables["sample_case.csv"]["rows"]] == expected
        assert [r["place"] for r in tables["sample_case-route.csv"]["rows"]] == expected
    details = [
        e.details
        for e in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "submission.export").order_by(AuditEvent.id)
        )
    ]
    assert details == [
        {"count": len(FORMULAS), "format": "csv"},
        {"count": len(FORMULAS), "format": "csv", "raw": True},
    ]
    result = runner.invoke(
        ["export", "sample_case", "--format", "xlsx", "--raw", "-o", str(tmp_path / "x.xlsx"), "--as", admin[0]]
    )
    assert result.exit_code == 1 and "--raw goes with --format csv." in result.output
