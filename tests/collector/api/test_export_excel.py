"""Exports for Excel users (issue 19): the UTF-8 byte order mark on every CSV when asked (?bom=true), and dates,
date-times and times in a workbook as Excel dates with a number format that shows them."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, time

import pytest
from openpyxl import load_workbook

from forms.compiler import compile_xlsform
from ingest.exports.walk import DateText
from ingest.exports.xlsx import excel_moment
from tests.conftest import ADMIN_PASSWORD, make_instance
from tests.support.exports import URL, _basic, _sample_v3, download
from tests.support.openrosa import post

BOM = b"\xef\xbb\xbf"
XLSX = "/v1/projects/1/forms/sample_case/submissions.xlsx"


@pytest.fixture
def auth(admin):
    return _basic(admin[0], ADMIN_PASSWORD)


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_bom_starts_every_csv_of_the_zip_only_when_asked(client, device, auth):
    assert post(client, device, make_instance("uuid:bom-1", name="ນາງ ສົມໃຈ")).status_code == 201
    plain = entries(download(client, auth))
    marked = entries(download(client, auth, URL + "?bom=true"))
    assert sorted(marked) == sorted(plain) == ["sample_case-route.csv", "sample_case.csv"]
    for name, data in marked.items():
        assert data.startswith(BOM) and data.count(BOM) == 1, name
        assert data[3:] == plain[name] and not plain[name].startswith(BOM), name
    assert "ນາງ ສົມໃຈ" in marked["sample_case.csv"].decode("utf-8-sig")
    assert entries(download(client, auth, URL + "?bom=false")) == plain


def test_bom_is_true_or_false_and_marks_the_ctdc_csv_too(client, published_form, auth):
    response = client.get(URL + "?bom=yes please", headers=auth)
    assert response.status_code == 400 and "?bom= must be true or false" in response.get_json()["error"]
    plain = client.get("/v1/projects/1/ctdc.csv", headers=auth)
    marked = client.get("/v1/projects/1/ctdc.csv?bom=true", headers=auth)
    assert plain.status_code == marked.status_code == 200
    assert marked.data == BOM + plain.data and not plain.data.startswith(BOM)
    assert client.get("/v1/projects/1/ctdc.csv?bom=1", headers=auth).status_code == 400


def test_xlsx_dates_are_excel_dates_with_a_format(app, client, device, auth, db_session, tmp_path):
    from ingest.publishing.versions import publish

    assert post(client, device, make_instance("uuid:xl-v1")).status_code == 201
    _sample_v3(tmp_path / "v3.xlsx")
    publish(db_session, app.extensions["collector.store"], 1, compile_xlsform(tmp_path / "v3.xlsx"), {})
    db_session.commit()
    v3 = (
        make_instance("uuid:xl-v3", version="2026120301")
        .replace(b"<age>30</age>", b"")
        .replace(
            b"<photo>photo.jpg</photo>",
            b"<photo /><grp_case><interview_date>2026-12-01</interview_date></grp_case>",
        )
    )
    assert post(client, device, v3).status_code == 201
    data = download(client, auth, XLSX)
    sheet = load_workbook(io.BytesIO(data))["sample_case"]
    header = [c.value for c in sheet[1]]
    old, new = (dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2))
    assert old["grp_case-interview_date"].value is None
    day = new["grp_case-interview_date"]
    assert day.is_date and day.number_format == "yyyy-mm-dd" and day.value == datetime(2026, 12, 1)
    # In the file the cell is a number (Excel's day count since 1899-12-30) with a style, not text.
    xml = entries(data)["xl/worksheets/sheet1.xml"].decode()
    assert re.search(rf'<c r="{day.coordinate}" s="\d+"><v>46357</v></c>', xml), xml[:300]
    submitted = new["SubmissionDate"]
    assert submitted.is_date and submitted.number_format == "yyyy-mm-dd hh:mm:ss"
    assert abs((submitted.value - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) < 600
    assert sheet.column_dimensions[day.column_letter].width >= 11  # wide enough not to show ####
    # Every other cell is as before: text stays text, numbers numbers.
    assert (new["full_name"].value, new["meta-instanceID"].value, old["age"].value) == ("Test Person", "uuid:xl-v3", 30)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("2026-12-01", "date", datetime(2026, 12, 1).date()),
        ("2026-12-01T08:30:15.250+07:00", "dateTime", datetime(2026, 12, 1, 8, 30, 15, 250000)),
        ("2026-12-06T01:02:03Z", "dateTime", datetime(2026, 12, 6, 1, 2, 3)),
        ("08:30:00.000+07:00", "time", time(8, 30)),
        ("1899-12-31", "date", None),  # before Excel's first day: stays text
        ("not a date", "date", None),
        ("2026-02-30", "date", None),
        ("=HYPERLINK(1)", "dateTime", None),
    ],
)
def test_excel_moment_keeps_the_recorded_clock_and_refuses_what_excel_cannot_hold(text, kind, expected):
    assert excel_moment(DateText(text, kind)) == expected
