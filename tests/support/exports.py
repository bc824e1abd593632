"""Shared test helpers (moved from tests/collector/api/test_export_csv.py)."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import load_workbook

from tests.conftest import DATA

URL = "/v1/projects/1/forms/sample_case/submissions.csv.zip"


def _basic(email: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def download(client, auth, url: str = URL) -> bytes:
    """GET an export and close the response (which ends the streamed request and its session)."""
    response = client.get(url, headers=auth)
    assert response.status_code == 200, response.status_code
    data = response.get_data()
    response.close()
    return data


def read_zip(data: bytes) -> dict[str, list[dict]]:
    """Return each CSV of an export as its rows (dicts by header), headers kept under '' ."""
    tables = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            reader = csv.reader(io.TextIOWrapper(archive.open(name), encoding="utf-8", newline=""))
            header = next(reader)
            tables[name] = {"header": header, "rows": [dict(zip(header, row, strict=True)) for row in reader]}
    return tables


def _sample_v3(path) -> None:
    """Write a version of the sample form without `age`, with a group and a new repeat question."""
    workbook = load_workbook(DATA / "sample_case.xlsx")
    survey = workbook["survey"]
    rows = [list(r) for r in survey.iter_rows(values_only=True)]
    rows = [r for r in rows if r[1] != "age"]
    at = next(i for i, r in enumerate(rows) if r[1] == "photo") + 1
    blank = [None] * (len(rows[0]) - 4)
    rows[at:at] = [
        ["begin_group", "grp_case", "ກໍລະນີ", "Case", *blank],
        ["date", "interview_date", "ວັນທີ", "Interview date", *blank],
        ["end_group", None, None, None, *blank],
    ]
    days = next(i for i, r in enumerate(rows) if r[1] == "days") + 1
    rows[days:days] = [["text", "transport", "ພາຫະນະ", "Transport", *blank]]
    survey.delete_rows(1, survey.max_row)
    for row in rows:
        survey.append(row)
    settings = workbook["settings"]
    settings.cell(row=2, column=3, value="2026120301")
    workbook.save(path)
