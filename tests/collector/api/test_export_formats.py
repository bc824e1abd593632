"""Excel and GeoJSON exports, choice labels, files and the device filter, read back and compared with what was
submitted across two form versions and an edit, as each role may see them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from ingest.exports import walk as exports
from ingest.models import AuditEvent
from tests.conftest import ADMIN_PASSWORD, DATA, make_instance
from tests.support.exports import _basic, download, read_zip
from tests.support.openrosa import JPEG, base
from tests.support.s3 import STORES

BASE = "/v1/projects/1/forms/sample_case/submissions"
PASSWORD = "a long enough password"
PHOTO_B = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
PLACE = b"\xff\xd8\xff\xe0" + b"place photo" * 50
#: v2's list of provinces, a label per language (v1's has one `label` column, in Lao and English).
PROVINCES_V2 = (
    "name,label,label::Lao (lo),label::English (en)\n01,x,ນະຄອນຫຼວງວຽງຈັນ,Vientiane Capital\n05,x,ບໍ່ແກ້ວ,Bokeo\n".encode()
)
HOME, PLACE_POINT = "17.966712 102.613589 170 5", "14.3541 100.5655 3.5 12"


def _geo_version(path) -> None:
    """Write version 2026120301 of the sample form: a sensitive geopoint `home`, a geopoint in the repeat."""
    workbook = load_workbook(DATA / "sample_case.xlsx")
    survey = workbook["survey"]
    rows = [list(r) for r in survey.iter_rows(values_only=True)]
    blank = [None] * (len(rows[0]) - 4)
    at = next(i for i, r in enumerate(rows) if r[1] == "province") + 1
    home = ["geopoint", "home", "ບ້ານ", "Home", *blank]
    home[rows[0].index("sensitive")] = "yes"
    rows[at:at] = [home]
    days = next(i for i, r in enumerate(rows) if r[1] == "days") + 1
    rows[days:days] = [["geopoint", "place_point", "ຈຸດ", "Point", *blank]]
    survey.delete_rows(1, survey.max_row)
    for row in rows:
        survey.append(row)
    workbook["settings"].cell(row=2, column=3, value="2026120301")
    workbook.save(path)


@pytest.fixture(scope="session")
def compiled_geo(tmp_path_factory):
    from forms.compiler import compile_xlsform

    path = tmp_path_factory.mktemp("geo") / "v2.xlsx"
    _geo_version(path)
    return compile_xlsform(path)


def submit(client, device, xml: bytes, files: dict | None = None, device_ident: str = "collect:abc123"):
    data = {"xml_submission_file": (io.BytesIO(xml), "xml_submission_file.xml", "text/xml")}
    for name, content in (files or {}).items():
        data[name] = (io.BytesIO(content), name, "image/jpeg")
    response = client.post(
        f"{base(device)}/submission?deviceID={device_ident}",
        data=data,
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0"},
    )
    assert response.status_code == 201, response.data


def v2_instance(instance_id: str, province: str = "05") -> bytes:
    """An instance of the geopoint version, from another province, with a point on its one route stop."""
    return (
        make_instance(
            instance_id,
            version="2026120301",
            name="Bounmy",
            age="52",
            places=(("Bangkok", "7"),),
            place_photos=("place.jpg",),
        )
        .replace(b"<province>01</province>", f"<province>{province}</province><home>{HOME}</home>".encode())
        .replace(b"<days>7</days>", f"<days>7</days><place_point>{PLACE_POINT}</place_point>".encode())
    )


@pytest.fixture
def records(app, client, device, admin, db_session, compiled_geo):
    """Submit a v1 record (province 01) and edit it, then from a second tablet a v2 record with geopoints
    (province 05)."""
    from ingest.accounts.users import create_device, create_user
    from ingest.publishing.versions import publish

    submit(
        client,
        device,
        make_instance("uuid:fmt-a", name="ນາງ ສົມໃຈ", place_photos=("place.jpg",)),
        {"photo.jpg": JPEG, "place.jpg": PLACE},
    )
    submit(
        client,
        device,
        make_instance(
            "uuid:fmt-a2", name="ນາງ ສົມໃຈ", age="31", place_photos=("place.jpg",), deprecated_id="uuid:fmt-a"
        ),
        {"photo.jpg": JPEG, "place.jpg": PLACE},
    )
    publish(db_session, app.extensions["collector.store"], 1, compiled_geo, {"provinces.csv": PROVINCES_V2})
    db_session.commit()
    second = create_device(db_session, 1, "Second tablet", "05")
    db_session.commit()
    submit(
        client,
        second,
        v2_instance("uuid:fmt-b"),
        {"photo.jpg": PHOTO_B, "place.jpg": PLACE},
        device_ident="collect:other",
    )
    create_user(db_session, "analyst@example.la", PASSWORD, "analyst")
    create_user(db_session, "officer@example.la", PASSWORD, "provincial-officer", provinces=["01"])
    db_session.commit()
    return {
        "admin": _basic(admin[0], ADMIN_PASSWORD),
        "analyst": _basic("analyst@example.la", PASSWORD),
        "officer": _basic("officer@example.la", PASSWORD),
        "devices": (device.id, second.id),
    }


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    """Return each sheet of a workbook as its rows of typed cells, padded to the header's width."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheets = {}
    for sheet in workbook:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        width = len(rows[0])
        sheets[sheet.title] = [(r + [None] * width)[:width] for r in rows]
    workbook.close()
    return sheets


def as_csv(rows: list[list]) -> list[list[str]]:
    """Write a sheet's typed cells as the CSV writes them (a date-time as a moment: see `same_moments`)."""
    return [[v if isinstance(v, datetime) else exports.cell(v) for v in row] for row in rows]


def same_moments(sheets: dict[str, list[list]], tables: dict[str, list[list[str]]]) -> None:
    """Check each Excel date-time against the CSV's text (Excel keeps milliseconds), then put the text in its place."""
    for name, rows in sheets.items():
        for row, texts in zip(rows, tables[name], strict=True):
            for col, value in enumerate(row):
                if isinstance(value, datetime):
                    written = datetime.fromisoformat(texts[col].replace("Z", "+00:00")).replace(tzinfo=None)
                    assert abs(value - written) < timedelta(milliseconds=1), (value, texts[col])
                    row[col] = texts[col]


def csv_rows(tables: dict) -> dict[str, list[list[str]]]:
    return {
        name.removesuffix(".csv"): [t["header"]] + [list(r.values()) for r in t["rows"]]
        for name, t in tables.items()
        if name.endswith(".csv")
    }


def test_xlsx_holds_the_csv_tables_with_numbers_as_numbers(client, records):
    auth = records["admin"]
    response = client.get(f"{BASE}.xlsx", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="sample_case.xlsx"' in response.headers["Content-Disposition"]
    sheets = read_xlsx(response.get_data())
    response.close()
    assert list(sheets) == ["sample_case", "sample_case-route"]
    tables = read_zip(download(client, auth, f"{BASE}.csv.zip"))
    typed = {name: as_csv(rows) for name, rows in sheets.items()}
    same_moments(typed, csv_rows(tables))
    assert typed == csv_rows(tables)
    header, a, b = sheets["sample_case"]
    row_a, row_b = dict(zip(header, a)), dict(zip(header, b))
    assert (row_a["KEY"], row_a["meta-instanceID"], row_a["full_name"], row_a["age"], row_a["Edits"]) == (
        "uuid:fmt-a",
        "uuid:fmt-a2",
        "ນາງ ສົມໃຈ",
        31,
        1,
    )
    assert (row_a["home-Latitude"], row_a["FormVersion"]) == (None, "2026112901")
    assert (row_b["home-Latitude"], row_b["home-Longitude"], row_b["home-Altitude"], row_b["home-Accuracy"]) == (
        17.966712,
        102.613589,
        170,
        5,
    )
    assert (row_b["age"], row_b["province"], row_b["DeviceID"], row_b["FormVersion"]) == (
        52,
        "05",
        "collect:other",
        "2026120301",
    )
    assert isinstance(row_b["SubmissionDate"], datetime)  # an Excel date-time, in UTC (tests/ingest/exports)
    route = [dict(zip(sheets["sample_case-route"][0], r)) for r in sheets["sample_case-route"][1:]]
    assert [(r["place"], r["days"], r["place_point-Latitude"], r["KEY"]) for r in route] == [
        ("Vientiane", 2, None, "uuid:fmt-a/route[1]"),
        ("Bangkok", 10, None, "uuid:fmt-a/route[2]"),
        ("Bangkok", 7, 14.3541, "uuid:fmt-b/route[1]"),
    ]


def test_xlsx_text_is_never_a_formula(client, device, admin, db_session):
    submit(client, device, make_instance("uuid:fmt-formula", name='=HYPERLINK("http://x")'))
    sheets = read_xlsx(download(client, _basic(admin[0], ADMIN_PASSWORD), f"{BASE}.xlsx"))
    header, row = sheets["sample_case"]
    assert dict(zip(header, row))["full_name"] == '=HYPERLINK("http://x")'


def test_geojson_has_one_point_per_record_and_geopoint(client, records):
    response = client.get(f"{BASE}.geojson", headers=records["admin"])
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    collection = json.loads(response.get_data())
    response.close()
    assert collection["type"] == "FeatureCollection"
    assert [(f["geometry"], f["properties"]) for f in collection["features"]] == [
        (
            {"type": "Point", "coordinates": [102.613589, 17.966712, 170.0]},
            {
                "__id": "uuid:fmt-b",
                "KEY": "uuid:fmt-b",
                "field": "home",
                "accuracy": 5.0,
                "SubmissionDate": collection["features"][0]["properties"]["SubmissionDate"],
            },
        ),
        (
            {"type": "Point", "coordinates": [100.5655, 14.3541, 3.5]},
            {
                "__id": "uuid:fmt-b",
                "KEY": "uuid:fmt-b/route[1]",
                "field": "route/place_point",
                "accuracy": 12.0,
                "SubmissionDate": collection["features"][0]["properties"]["SubmissionDate"],
            },
        ),
    ]
    one = json.loads(download(client, records["admin"], f"{BASE}.geojson?geopoint=route-place_point"))
    assert [f["properties"]["field"] for f in one["features"]] == ["route/place_point"]
    assert json.loads(download(client, records["admin"], f"{BASE}.geojson?geopoint=route/place_point")) == one


def test_analyst_gets_redacted_cells_rounded_points_and_no_sensitive_files(client, records):
    auth = records["analyst"]
    header, a, b = read_xlsx(download(client, auth, f"{BASE}.xlsx"))["sample_case"]
    rows = [dict(zip(header, r)) for r in (a, b)]
    assert [(r["full_name"], r["photo"], r["age"]) for r in rows] == [(None, None, 31), (None, None, 52)]
    assert (rows[1]["home-Latitude"], rows[1]["home-Longitude"]) == (17.97, 102.61)
    features = json.loads(download(client, auth, f"{BASE}.geojson"))["features"]
    assert [f["geometry"]["coordinates"] for f in features] == [[102.61, 17.97, 170.0], [100.5655, 14.3541, 3.5]]
    with zipfile.ZipFile(io.BytesIO(download(client, auth, f"{BASE}.csv.zip?attachments=true"))) as archive:
        assert [n for n in archive.namelist() if n.startswith("media/")] == ["media/place.jpg"]
        assert archive.read("media/place.jpg") == PLACE


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_attachments_are_the_files_as_received(client, records, db_session):
    data = download(client, records["admin"], f"{BASE}.csv.zip?attachments=true")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [
            "sample_case.csv",
            "sample_case-route.csv",
            "media/photo.jpg",
            "media/place.jpg",
            "media/uuid_fmt-b/photo.jpg",
        ]
        # Two records sent a photo.jpg: the second, other bytes, goes below its record's key.
        assert (
            archive.read("media/photo.jpg"),
            archive.read("media/place.jpg"),
            archive.read("media/uuid_fmt-b/photo.jpg"),
        ) == (JPEG, PLACE, PHOTO_B)
    plain = zipfile.ZipFile(io.BytesIO(download(client, records["admin"], f"{BASE}.csv.zip")))
    assert plain.namelist() == ["sample_case.csv", "sample_case-route.csv"]
    details = [
        e.details
        for e in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "submission.export").order_by(AuditEvent.id)
        )
    ]
    assert details == [{"count": 2, "format": "csv", "attachments": True}, {"count": 2, "format": "csv"}]


def test_provincial_officer_exports_only_their_province(client, records):
    auth = records["officer"]
    header, *rows = read_xlsx(download(client, auth, f"{BASE}.xlsx"))["sample_case"]
    assert [dict(zip(header, r))["KEY"] for r in rows] == ["uuid:fmt-a"]
    assert json.loads(download(client, auth, f"{BASE}.geojson"))["features"] == []
    with zipfile.ZipFile(io.BytesIO(download(client, auth, f"{BASE}.csv.zip?attachments=true"))) as archive:
        assert [n for n in archive.namelist() if n.startswith("media/")] == ["media/photo.jpg", "media/place.jpg"]
        assert archive.read("media/photo.jpg") == JPEG


@pytest.mark.parametrize(
    "lang, consent, indicators, bokeo",
    [("lo", "ແມ່ນ", "ການຫຼອກລວງ ໜີ້ສິນ", "ບໍ່ແກ້ວ"), ("en", "Yes", "Deception Debt bondage", "Bokeo")],
)
def test_lang_writes_choice_labels_in_that_language(client, records, lang, consent, indicators, bokeo):
    auth = records["admin"]
    data = download(client, auth, f"{BASE}.csv.zip?lang={lang}")
    tables = read_zip(data)
    rows = tables["sample_case.csv"]["rows"]
    # Each record takes the labels of its own version: v1's province file has one label, v2's one per language.
    assert [(r["consent"], r["indicators"], r["province"]) for r in rows] == [
        (consent, indicators, "ນະຄອນຫຼວງວຽງຈັນ (Vientiane Capital)"),
        (consent, indicators, bokeo),
    ]
    assert consent.encode() in zipfile.ZipFile(io.BytesIO(data)).read("sample_case.csv")  # UTF-8, no BOM
    assert not zipfile.ZipFile(io.BytesIO(data)).read("sample_case.csv").startswith(b"\xef\xbb\xbf")
    header, *sheet = read_xlsx(download(client, auth, f"{BASE}.xlsx?lang={lang}"))["sample_case"]
    assert [(dict(zip(header, r))["consent"], dict(zip(header, r))["indicators"]) for r in sheet] == [
        (consent, indicators)
    ] * 2
    names = read_zip(download(client, auth, f"{BASE}.csv.zip"))["sample_case.csv"]["rows"]
    assert {(r["consent"], r["indicators"]) for r in names} == {("yes", "deception debt")}


def test_every_format_filters_by_device_province_review_state_and_answers(client, records):
    auth = records["admin"]
    first, second = records["devices"]
    for query, keys in (
        (f"device={second}", ["uuid:fmt-b"]),
        (f"device={first}", ["uuid:fmt-a"]),
        (f"device={first}&device={second}", ["uuid:fmt-a", "uuid:fmt-b"]),
        ("province=05", ["uuid:fmt-b"]),
        ("reviewState=approved", []),
        ("device=999999", []),
        ("q=age>=40", ["uuid:fmt-b"]),
        ("q=route/days:10", ["uuid:fmt-a"]),
    ):
        root = read_zip(download(client, auth, f"{BASE}.csv.zip?{query}"))["sample_case.csv"]["rows"]
        assert [r["KEY"] for r in root] == keys, query
        header, *rows = read_xlsx(download(client, auth, f"{BASE}.xlsx?{query}"))["sample_case"]
        assert [dict(zip(header, r))["KEY"] for r in rows] == keys, query
        features = json.loads(download(client, auth, f"{BASE}.geojson?{query}"))["features"]
        assert sorted({f["properties"]["__id"] for f in features}) == [k for k in keys if k == "uuid:fmt-b"], query


def test_every_format_of_a_form_without_records_is_valid_and_empty(client, published_form, admin):
    auth = _basic(admin[0], ADMIN_PASSWORD)
    sheets = read_xlsx(download(client, auth, f"{BASE}.xlsx"))
    assert sheets == {
        "sample_case": [
            [
                "SubmissionDate",
                "consent",
                "full_name",
                "age",
                "indicators",
                "province",
                "photo",
                "meta-instanceID",
                *exports.ROOT_SYSTEM,
            ]
        ],
        "sample_case-route": [["place", "days", "place_photo", "PARENT_KEY", "KEY"]],
    }
    assert json.loads(download(client, auth, f"{BASE}.geojson")) == {"type": "FeatureCollection", "features": []}
    tables = read_zip(download(client, auth, f"{BASE}.csv.zip?attachments=true&lang=lo"))
    assert {name: t["rows"] for name, t in tables.items()} == {"sample_case.csv": [], "sample_case-route.csv": []}


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}.csv.zip?lang=fr",
        f"{BASE}.xlsx?lang=lao",
        f"{BASE}.xlsx?lang=",
        f"{BASE}.csv.zip?attachments=yes",
        f"{BASE}.geojson?geopoint=nope",
        f"{BASE}.geojson?geopoint=age",
        f"{BASE}.xlsx?reviewState=lost",
        f"{BASE}.csv.zip?device=collect:abc123",
        f"{BASE}.xlsx?q=age",
        f"{BASE}.geojson?start=yesterday",
    ],
)
def test_bad_parameters_are_400(client, published_form, admin, url, db_session):
    response = client.get(url, headers=_basic(admin[0], ADMIN_PASSWORD))
    response.close()
    assert response.status_code == 400, url
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).all() == []


def test_exports_refuse_roles_without_records(client, published_form, db_session):
    from ingest.accounts.users import create_user

    create_user(db_session, "stats@example.la", PASSWORD, "statistician")
    db_session.commit()
    for suffix in (".xlsx", ".geojson", ".csv.zip?attachments=true"):
        response = client.get(f"{BASE}{suffix}", headers=_basic("stats@example.la", PASSWORD))
        response.close()
        assert response.status_code == 403, suffix


def test_cli_writes_each_format(runner, client, records, tmp_path, db_session):
    out = tmp_path / "out.xlsx"
    result = runner.invoke(
        ["export", "sample_case", "--format", "xlsx", "--lang", "en", "-o", str(out), "--as", "analyst@example.la"]
    )
    assert result.exit_code == 0, result.output
    assert "2 record(s) written" in result.stderr
    header, *rows = read_xlsx(out.read_bytes())["sample_case"]
    assert [(dict(zip(header, r))["consent"], dict(zip(header, r))["full_name"]) for r in rows] == [("Yes", None)] * 2
    geo = tmp_path / "out.geojson"
    result = runner.invoke(["export", "sample_case", "--format", "geojson", "--geopoint", "home", "-o", str(geo)])
    assert result.exit_code == 0, result.output
    assert [f["geometry"]["coordinates"] for f in json.loads(geo.read_text())["features"]] == [
        [102.613589, 17.966712, 170.0]
    ]
    media = tmp_path / "out.csv.zip"
    result = runner.invoke(["export", "sample_case", "--attachments", "-o", str(media), "--as", "officer@example.la"])
    assert result.exit_code == 0, result.output
    assert zipfile.ZipFile(media).read("media/place.jpg") == PLACE
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "submission.export", AuditEvent.address == "cli")
        .order_by(AuditEvent.id)
    )
    assert [e.details for e in events] == [
        {"count": 2, "format": "xlsx", "lang": "en"},
        {"count": 2, "format": "geojson", "geopoint": "home"},
        {"count": 1, "format": "csv", "attachments": True},
    ]
    for args in (
        ["--format", "xlsx", "--attachments"],
        ["--format", "geojson", "--geopoint", "nope"],
        ["--lang", "fr"],
    ):
        result = runner.invoke(["export", "sample_case", "-o", str(tmp_path / "bad"), *args])
        assert result.exit_code != 0, args
        assert not (tmp_path / "bad").exists()


def test_choice_labels_read_inline_items_and_one_language_instances():
    from ingest.publishing.choices import choice_labels, file_labels

    xform = """<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
      xmlns:jr="http://openrosa.org/javarosa"><h:head><model>
      <itext><translation lang="English (en)"><text id="g-0"><value>Girl</value><value form="image">g.png</value>
      </text></translation><translation lang="Lao (lo)" default="true()"><text id="g-0"><value>ຍິງ</value></text>
      </translation></itext>
      <instance><data id="f"><sex/><colour/><g/></data></instance>
      <instance id="colours"><root><item><name>red</name><label>Red</label></item></root></instance>
      </model></h:head><h:body>
      <select1 ref="/data/sex"><item><label>Male</label><value>m</value></item>
        <item><label ref="jr:itext('g-0')"/><value>f</value></item></select1>
      <select ref="/data/colour"><itemset nodeset="instance('colours')/root/item[name != '']">
        <value ref="name"/><label ref="label"/></itemset></select>
      </h:body></h:html>""".encode()
    assert choice_labels(xform, "en") == {"/data/sex": {"m": "Male", "f": "Girl"}, "/data/colour": {"red": "Red"}}
    # A language the form lacks falls back to the default translation.
    assert choice_labels(xform, "fr")["/data/sex"] == {"m": "Male", "f": "ຍິງ"}
    assert file_labels(io.BytesIO("\ufeffname,label\n01,ນະຄອນຫຼວງ\n".encode()), "en") == {"01": "ນະຄອນຫຼວງ"}
    assert file_labels(io.BytesIO(b"no,header\n1,2\n"), "en") == {}


def test_a_full_sheet_goes_on_in_a_second_sheet(client, records, monkeypatch):
    from ingest.exports import xlsx as export_xlsx

    monkeypatch.setattr(export_xlsx, "MAX_ROWS", 2)  # a header and one record
    sheets = read_xlsx(download(client, records["admin"], f"{BASE}.xlsx"))
    # Record a's root row, its two route rows (the second on a new sheet), then record b's.
    assert list(sheets) == [
        "sample_case",
        "sample_case-route",
        "sample_case-route~2",
        "sample_case~2",
        "sample_case-route~3",
    ]
    assert [rows[0] == sheets["sample_case"][0] for name, rows in sheets.items() if "route" not in name] == [True] * 2
    assert [
        r[sheets["sample_case"][0].index("KEY")] for name in ("sample_case", "sample_case~2") for r in sheets[name][1:]
    ] == ["uuid:fmt-a", "uuid:fmt-b"]


def test_sheet_names_are_short_and_unique_whatever_the_case():
    from ingest.exports.xlsx import sheet_names

    long = "a_very_long_form_identifier_indeed"
    assert sheet_names([f"{long}.csv", f"{long}-route.csv", "Case.csv", "case.csv"]) == [
        long[:31],
        long[:29] + "~2",
        "Case",
        "case~2",
    ]
