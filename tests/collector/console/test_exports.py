"""The console's exports page (issue 18 page 6): the choice of form, format, language and dates, the download
through the API's export service (scope, redaction, audit), refusals as pages, and background jobs on Redis."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from ingest.models import AuditEvent
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_instance
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of
from tests.support.exports import read_zip
from tests.support.openrosa import post

PAGE = "/console/projects/1/exports"
BOM = b"\xef\xbb\xbf"
STATISTICIAN = "statistician@example.la"


@pytest.fixture
def records(app, client, db_session, staff, admin, device):
    """A record of province 01 (the fixture's tablet) and one of province 05, each naming a person."""
    from ingest.accounts.users import create_device, create_user

    create_user(db_session, STATISTICIAN, PASSWORD, "statistician")
    bokeo = create_device(db_session, 1, "Bokeo tablet", "05")
    db_session.commit()
    assert post(client, device, make_instance("uuid:exp-01", name="Vientiane Person")).status_code == 201
    xml = make_instance("uuid:exp-05", name="ນາງ ບໍ່ແກ້ວ").replace(b"<province>01</province>", b"<province>05</province>")
    assert post(client, bokeo, xml).status_code == 201


def signed_in(client, email, password=PASSWORD) -> str:
    """Sign in and return the exports page's CSRF token."""
    assert console_sign_in(client, email, password).status_code == 302
    page = client.get(PAGE)
    assert page.status_code == 200
    return csrf_of(page)


def export(client, token, **fields):
    data = {"csrf_token": token, "form": "sample_case", "format": "csv", "lang": "", "bom": "true", **fields}
    response = client.post(PAGE, data={k: v for k, v in data.items() if v is not None})
    body = response.get_data()
    response.close()
    return response, body


def keys(data: bytes) -> list[str]:
    return [r["KEY"] for r in read_zip(data)["sample_case.csv"]["rows"]]


def test_page_offers_the_published_forms_formats_and_languages(client, records):
    signed_in(client, OFFICER)
    html = client.get(PAGE + "?lang=en").get_data(as_text=True)
    assert '<option value="sample_case">' in html
    for fmt in ("csv", "xlsx", "geojson", "ctdc"):
        assert f'name="format" value="{fmt}"' in html
    assert '<option value="en" selected>English labels</option>' in html
    assert 'name="bom" value="true" checked' in html  # on by default from the console
    assert 'type="date" name="start"' in html and 'type="date" name="end"' in html
    assert "/static/exports.js" in html or "exports.js" in html
    assert "<script>" not in html and " style=" not in html and " onclick" not in html


@pytest.mark.parametrize("email", [TRAINER, STATISTICIAN])
def test_roles_that_read_no_records_are_refused(client, records, email):
    assert console_sign_in(client, email).status_code == 302
    page = client.get(PAGE)
    assert page.status_code == 403 and page.mimetype == "text/html"
    token = csrf_of(client.get("/console/projects/1/forms"))
    response, body = export(client, token)
    assert response.status_code == 403 and b"exp-0" not in body and response.mimetype == "text/html"


def test_signed_out_visitors_are_sent_to_sign_in(client, records):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_officer_of_05_gets_only_05_records_every_csv_with_a_bom(client, records):
    token = signed_in(client, OFFICER)
    response, body = export(client, token)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="sample_case.csv.zip"' in response.headers["Content-Disposition"]
    assert keys(body) == ["uuid:exp-05"]
    assert b"Vientiane Person" not in body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert names == ["sample_case.csv", "sample_case-route.csv"]
        assert all(archive.read(n).startswith(BOM) for n in names)
    _response, plain = export(client, token, bom=None)  # the box unticked
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        assert not any(archive.read(n).startswith(BOM) for n in archive.namelist())


def test_admin_gets_both_provinces_and_the_export_is_audited_once(client, records, db_session):
    token = signed_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    response, body = export(client, token, lang="en")
    assert response.status_code == 200 and keys(body) == ["uuid:exp-01", "uuid:exp-05"]
    db_session.rollback()
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).all()
    assert [(e.resource, e.details) for e in events] == [
        ("form:sample_case", {"count": 2, "format": "csv", "lang": "en", "bom": True})
    ]


def test_analysts_file_is_redacted(client, records):
    token = signed_in(client, ANALYST)
    response, body = export(client, token, format="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(body))["sample_case"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    assert [r["KEY"] for r in rows] == ["uuid:exp-01", "uuid:exp-05"]
    assert [r["full_name"] for r in rows] == [None, None] and [r["age"] for r in rows] == [30, 30]
    assert b"Vientiane Person" not in body
    assert isinstance(rows[0]["SubmissionDate"], datetime)


def test_date_range_picks_the_days_submitted_and_geojson_and_ctdc_download(client, records):
    token = signed_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    today = datetime.now(UTC).date()
    _r, body = export(client, token, start=today.isoformat(), end=today.isoformat())
    assert keys(body) == ["uuid:exp-01", "uuid:exp-05"]
    _r, body = export(client, token, start=(today + timedelta(days=1)).isoformat())
    assert keys(body) == []
    _r, body = export(client, token, end=(today - timedelta(days=1)).isoformat())
    assert keys(body) == []
    response, body = export(client, token, format="geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    response, body = export(client, token, format="ctdc", form="")
    assert response.status_code == 200 and response.mimetype == "text/csv" and body.startswith(BOM)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"form": "no_such_form"}, "There is no such published form in this project."),
        ({"form": "../../etc/passwd"}, "There is no such published form in this project."),
        ({"form": "x" * 5000}, "There is no such published form in this project."),
        ({"format": "pdf"}, "Choose a format from the list."),
        ({"format": ""}, "Choose a format from the list."),
        ({"lang": "fr"}, "Choose a language from the list."),
        ({"start": "2026-13-01"}, "That is not a date"),
        ({"start": "01/12/2026"}, "That is not a date"),
        ({"end": "2026-02-30"}, "That is not a date"),
        ({"end": "９９９９-01-01"}, "That is not a date"),
        ({"start": "2026-12-01'; drop table submissions; --"}, "That is not a date"),
        ({"start": "2026-12-02", "end": "2026-12-01"}, "The end date is before the start date."),
    ],
)
def test_bad_choices_get_a_page_saying_why(client, records, fields, message):
    token = signed_in(client, OFFICER)
    client.get(PAGE + "?lang=en")
    response, body = export(client, token, **fields)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert message in body.decode() and b"exp-0" not in body


def test_bad_choice_message_is_in_lao_on_a_lao_page(client, records):
    token = signed_in(client, OFFICER)
    response, body = export(client, token, start="2026-12-02", end="2026-12-01")
    text = re.sub("[\u200b\u2060]", "", body.decode())  # the page marks Lao word breaks (forms.lao)
    assert response.status_code == 400 and "ວັນທີສິ້ນສຸດຢູ່ກ່ອນວັນທີເລີ່ມຕົ້ນ." in text


def test_post_without_the_csrf_token_is_refused(client, records, db_session):
    signed_in(client, OFFICER)
    for token in ("", "forged"):
        response, body = export(client, token)
        assert response.status_code == 400 and b"exp-0" not in body and response.mimetype == "text/html"
    db_session.rollback()
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).all() == []


def test_unknown_project_is_404_and_jobs_need_redis(client, records):
    token = signed_in(client, OFFICER)
    response = client.post("/console/projects/99/exports", data={"csrf_token": token, "format": "csv"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    job = f"{PAGE}/jobs/{uuid.uuid4()}"
    assert client.get(job).status_code == 404 and client.get(job + "/file").status_code == 404


@pytest.fixture
def redis_app(app):
    """The app with its jobs on a queue of its own on the local Redis (database 15), emptied afterwards."""
    from redis import Redis

    name = f"test-{uuid.uuid4().hex[:12]}"
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/15", JOB_QUEUE=name)
    yield app
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)


def test_on_redis_the_export_is_a_job_its_page_shows_progress_and_only_its_user_downloads_it(
    redis_app, client, records, runner, db_session
):
    token = signed_in(client, OFFICER)
    assert 'data-background="true"' in client.get(PAGE).get_data(as_text=True)
    response = client.post(
        PAGE, data={"csrf_token": token, "form": "sample_case", "format": "xlsx", "lang": "lo", "bom": "true"}
    )
    assert response.status_code == 303
    job = response.headers["Location"]
    assert job.startswith(f"{PAGE}/jobs/")
    waiting = client.get(job + "?lang=en").get_data(as_text=True)
    assert (
        'data-state="queued"' in waiting and "Waiting in the queue" in waiting and "Export: sample_case.xlsx" in waiting
    )
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in waiting
    assert client.get(job + "/file").status_code == 404  # not built yet

    result = runner.invoke(["worker", "--burst"])

    assert result.exit_code == 0, result.output
    done = client.get(job).get_data(as_text=True)
    assert 'data-state="finished"' in done and "sample_case.xlsx" in done and "http-equiv" not in done
    file = client.get(job + "/file")
    assert file.status_code == 200 and 'filename="sample_case.xlsx"' in file.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(file.get_data()))["sample_case"]
    header = [c.value for c in sheet[1]]
    assert [dict(zip(header, (c.value for c in r), strict=True))["KEY"] for r in sheet.iter_rows(min_row=2)] == [
        "uuid:exp-05"
    ]
    # Audited once, by the worker, as the officer who asked.
    db_session.rollback()
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")).all()
    assert [(e.details, e.user_id is not None) for e in events] == [
        ({"count": 1, "format": "xlsx", "lang": "lo", "bom": True}, True)
    ]
    # Another user, even an administrator, finds no such job; a malformed id is no job either.
    other = redis_app.test_client()
    signed_in(other, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert other.get(job).status_code == 404 and other.get(job + "/file").status_code == 404
    assert client.get(f"{PAGE}/jobs/not-a-job").status_code == 404
    assert client.get(f"{PAGE}/jobs/{uuid.uuid4()}").status_code == 404


def test_a_job_for_a_user_who_lost_the_right_meanwhile_fails_and_leaves_no_file(
    redis_app, client, records, runner, db_session
):
    from ingest.models import User

    token = signed_in(client, OFFICER)
    job = client.post(PAGE, data={"csrf_token": token, "form": "sample_case", "format": "csv"}).headers["Location"]
    user = db_session.scalars(select(User).where(User.email == OFFICER)).one()
    user.role = "trainer"  # lost the right to read records after asking
    db_session.commit()
    assert runner.invoke(["worker", "--burst"]).exit_code == 0
    user.role = "provincial-officer"
    db_session.commit()
    page = client.get(job + "?lang=en")
    assert page.status_code == 200 and 'data-state="failed"' in page.get_data(as_text=True)
    assert client.get(job + "/file").status_code == 404


def test_a_queue_that_is_down_sends_the_file_directly(app, client, records, caplog):
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0")
    token = signed_in(client, OFFICER)
    response, body = export(client, token)
    assert response.status_code == 200 and keys(body) == ["uuid:exp-05"]
    assert "export job not queued, sent directly: ConnectionError" in caplog.text
