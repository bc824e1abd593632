"""Hostile input found from outside (issue 7): each is a clear 4xx, nothing is stored, on both databases."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import time

import pytest
from sqlalchemy import func, select

from ingest.models import Blob, Submission, SubmissionRow, SubmissionVersion
from tests.conftest import make_instance
from tests.support.collect import multipart
from tests.support.openrosa import JPEG, base, openrosa_message, post


def stored(db_session) -> tuple[int, int, int, int]:
    """Count what the write path stores: submissions, versions, normalised rows and blobs."""
    db_session.expire_all()
    return tuple(
        db_session.scalar(select(func.count()).select_from(m))
        for m in (Submission, SubmissionVersion, SubmissionRow, Blob)
    )


def test_submission_refusals_store_nothing_and_answer_openrosa_xml(client, device, db_session):
    before = stored(db_session)
    cases = {
        "Shift_JIS": make_instance().replace(b"<?xml version='1.0' ?>", b'<?xml version="1.0" encoding="Shift_JIS"?>'),
        "UTF-16 declared": make_instance().replace(
            b"<?xml version='1.0' ?>", b'<?xml version="1.0" encoding="UTF-16"?>'
        ),
        "unknown encoding": make_instance().replace(b"<?xml version='1.0' ?>", b"<?xml version='1.0' encoding='foo'?>"),
        "UTF-16 bytes": make_instance().decode().replace("<?xml version='1.0' ?>", "").encode("utf-16"),
        "instanceID over 255": make_instance("uuid:" + "a" * 300),
        "version over 64": make_instance(version="9" * 65),
        "file name over 255": make_instance(photo="p" * 300 + ".jpg"),
        "deprecatedID over 255": make_instance(deprecated_id="uuid:" + "d" * 300),
        "NUL in the XML": make_instance(name="A\x00B"),
        "slash in the instanceID": make_instance("uuid:a/b"),
        "tab in the instanceID": make_instance("uuid:a\tb"),
        "too many elements": make_instance().replace(b"<consent>", b"<a/>" * 25_000 + b"<consent>"),
    }
    for case, xml in cases.items():
        response = post(client, device, xml, {"photo.jpg": JPEG})
        assert response.status_code == 400, (case, response.data[:300])
        assert openrosa_message(response), case
    assert stored(db_session) == before


def test_a_5_mb_instance_id_is_refused_not_stored_unreadable(client, device, db_session):
    before = stored(db_session)
    boundary, body = multipart(
        [("xml_submission_file", "i.xml", "text/xml", make_instance("uuid:" + "x" * (4 * 1024 * 1024)))]
    )
    response = client.post(
        f"{base(device)}/submission", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 400
    assert "longer than 255" in openrosa_message(response)
    assert stored(db_session) == before


def test_more_parts_than_allowed_is_400(client, device, db_session):
    before = stored(db_session)
    files = {f"f{n}.jpg": b"x" for n in range(300)}
    response = post(client, device, make_instance(), files)
    assert response.status_code == 400
    assert "parts" in openrosa_message(response)
    assert stored(db_session) == before


def test_body_shorter_than_its_content_length_is_refused(client, device, db_session):
    before = stored(db_session)
    boundary, body = multipart([("xml_submission_file", "i.xml", "text/xml", make_instance())])
    cut = body[: len(body) - 40]  # the closing boundary never arrives
    response = client.post(
        f"{base(device)}/submission",
        data=cut,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(body))},
    )
    assert response.status_code == 400
    assert stored(db_session) == before


def test_complete_body_shorter_than_its_content_length_is_refused(client, device, db_session):
    """Every part arrived, closing boundary included, but the connection ended before the length announced."""
    before = stored(db_session)
    boundary, body = multipart([("xml_submission_file", "i.xml", "text/xml", make_instance())])
    # As gunicorn hands the body over: the stream as it is, the length as announced.
    response = client.post(
        f"{base(device)}/submission",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        environ_overrides={"CONTENT_LENGTH": str(len(body) + 17), "wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    assert "cut short" in openrosa_message(response)
    assert stored(db_session) == before


@pytest.mark.parametrize(
    "path", ["/forms/%2F.xml", "/forms/.xml", "/forms/a%2Fb/manifest", "/forms/a%2Fb/attachments/x.csv"]
)
def test_collect_urls_with_an_encoded_slash_answer_openrosa_xml(client, device, path):
    response = client.get(f"{base(device)}{path}", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code in (403, 404)  # "/forms/.xml" is the staff path of a form named ".xml"
    assert response.mimetype == "text/xml" and openrosa_message(response)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/1/forms/%0A.xml",
        "/v1/projects/1/forms/a%0Ab/manifest",
        "/v1/projects/1/forms/sample_case/attachments/%2F",
    ],
)
def test_a_form_id_or_file_name_holding_a_line_break_or_slash_gets_openrosa_xml(client, device, path):
    # Found by fuzz runs at 3,000 cases: a decoded line break in the form ID, or a slash in a media file's
    # name, answered 404 in JSON.
    response = client.get(path, headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code in (401, 403, 404)
    assert response.mimetype == "text/xml" and openrosa_message(response)


@pytest.mark.parametrize("token", ["%2F", "a%2Fb", "%2F%2F"])
def test_a_device_token_holding_an_encoded_slash_gets_openrosa_xml(client, token):
    # Found by the full-size fuzz run (COLLECTOR_FUZZ_EXAMPLES=20000): the token "/" answered 404 in JSON.
    response = client.get(f"/v1/key/{token}/projects/1/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code in (403, 404)
    assert response.mimetype == "text/xml" and openrosa_message(response)


def test_json_paths_below_a_form_keep_json_errors(client, admin):
    auth = {"Authorization": "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()}
    for path in ("/submissions/uuid:none.xml", "/versions/none.xml", "/submissions/uuid:none/attachments/x.jpg"):
        response = client.get(f"/v1/projects/1/forms/none{path}", headers=auth)
        assert response.status_code == 404 and response.is_json, path


def test_a_method_not_allowed_names_the_allowed_ones(client, device):
    # RFC 9110: a 405 carries Allow; the error handler used to drop the exception's headers.
    api = client.delete("/v1/openapi.json")
    assert api.status_code == 405 and api.is_json
    assert set(api.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    collect = client.delete(f"{base(device)}/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert collect.status_code == 405 and collect.mimetype == "text/xml" and "GET" in collect.headers["Allow"]


def test_missing_closing_boundary_is_400(client, device, db_session):
    before = stored(db_session)
    boundary, body = multipart([("xml_submission_file", "i.xml", "text/xml", make_instance())])
    cut = body[: body.rindex(f"--{boundary}--".encode())]
    response = client.post(
        f"{base(device)}/submission", data=cut, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 400
    assert "cut short" in openrosa_message(response)
    assert stored(db_session) == before


def test_text_answers_are_stored_exactly_as_sent(client, device, admin):
    assert post(client, device, make_instance("uuid:spaces", name="  Noy Phommachanh ", age=" 31")).status_code == 201
    data = client.get("/v1/projects/1/forms/sample_case/submissions/uuid:spaces", auth=admin).get_json()["data"]
    assert data["full_name"] == "  Noy Phommachanh "
    assert data["age"] == 31


def test_retry_message_says_what_happened(client, device):
    xml = make_instance("uuid:retry-msg")
    first = post(client, device, xml)
    assert openrosa_message(first) == "Your record was received. 1 of its 1 file(s) have not arrived yet."
    again = post(client, device, xml)
    assert again.status_code == 201
    assert openrosa_message(again) == (
        "Your record was already received; nothing new was added. 1 of its 1 file(s) have not arrived yet."
    )
    with_photo = post(client, device, xml, {"photo.jpg": JPEG})
    assert openrosa_message(with_photo) == "Your record was already received; 1 more file(s) were added."
    same_photo = post(client, device, xml, {"photo.jpg": JPEG})
    assert openrosa_message(same_photo) == "Your record was already received; nothing new was added."


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/2147483648/forms",
        "/v1/projects/9223372036854775808/forms",
        "/v1/projects/18446744073709551616/forms",
        "/v1/projects/\u0661/forms",
        "/v1/projects/1/app-users/99999999999",
    ],
)
def test_ids_past_the_columns_or_in_other_digits_are_404(client, admin, path):
    response = client.get(path, auth=admin)
    assert response.status_code == 404
    assert response.get_json()["ok"] is False


def test_unicode_digit_project_in_a_device_url_is_404(client, device):
    assert client.get(f"/v1/key/{device.token}/projects/\u0661/formList").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/v1/key/%00/projects/1/formList",
        "/v1/projects/1/formList?formID=%00",
        "/v1/projects/1/forms/sample%00case",
    ],
)
def test_nul_in_url_is_400(client, admin, url):
    response = client.get(url, auth=admin)
    assert response.status_code == 400
    assert b"NUL" in response.data


def test_nul_in_basic_user_is_401_not_a_database_error(client):
    token = base64.b64encode(b"admin\x00@example.la:password").decode()
    response = client.get("/v1/projects", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401


def test_deeply_nested_json_to_sessions_is_400(client):
    body = "[" * 10_000 + "]" * 10_000
    response = client.post("/v1/sessions", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["ok"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"email": "\ud800@example.la", "password": "x" * 12},
        {"email": "a@example.la", "password": "\udfff" * 12},
        {"email": "a\x00@example.la", "password": "x" * 12},
    ],
)
def test_unpaired_surrogate_or_nul_in_credentials_is_400(client, body):
    response = client.post("/v1/sessions", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "not valid text" in response.get_json()["error"]


def test_province_with_a_trailing_newline_is_refused(client, admin, published_form):
    response = client.post("/v1/projects/1/app-users", json={"displayName": "T", "province": "05\n"}, auth=admin)
    assert response.status_code == 422


def test_xlsx_without_a_valid_workbook_part_is_400(client, admin, published_form):
    archive = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("xl/workbook.xml", "this is not a workbook")
        zf.writestr("[Content_Types].xml", "<Types/>")
    response = client.post(
        "/v1/projects/1/forms",
        data=archive.getvalue(),
        auth=admin,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert response.status_code == 400
    assert "not a readable" in response.get_json()["error"]


def test_sqlite_database_and_wal_are_private(app, client, device):
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("a file permission of SQLite")
    post(client, device, make_instance())
    path = url.split("///", 1)[1]
    for name in (path, f"{path}-wal"):
        if os.path.exists(name):
            assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, name


def test_partial_uploads_are_swept_at_start_up_and_then_periodically(clean_db, instance_path, client, device):
    from collector import create_app

    media = instance_path / "media"
    media.mkdir(parents=True, exist_ok=True)

    def leftovers(*names: str, age: float = 7200):
        for name in names:
            (media / name).write_bytes(b"half a photo")
            os.utime(media / name, (time.time() - age, time.time() - age))

    leftovers(".incoming-stale")
    leftovers(".incoming-fresh", age=0)
    started = create_app({"TESTING": True, "DATABASE_URL": clean_db, "MEDIA_DIR": str(media), "SECRET_KEY": "t"})
    started.extensions["collector.engine"].dispose()
    assert not (media / ".incoming-stale").exists() and (media / ".incoming-fresh").exists()
    # A running server sweeps again when an upload starts once SWEEP_EVERY_SECONDS have passed.
    leftovers(".incoming-later")
    store = client.application.extensions["collector.store"]
    store._next_sweep = 0.0
    assert post(client, device, make_instance(), {"photo.jpg": JPEG}).status_code == 201
    assert not (media / ".incoming-later").exists() and (media / ".incoming-fresh").exists()


def test_province_that_does_not_exist_is_400_naming_it(client, admin, published_form):
    response = client.post("/v1/projects/1/app-users", json={"displayName": "T", "province": "19"}, auth=admin)
    assert response.status_code == 400
    assert "'19'" in response.get_json()["error"]


def media_files(app) -> set[str]:
    """Name every file in the media store, partial copies included."""
    from pathlib import Path

    root = Path(app.config["MEDIA_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_refused_submissions_leave_no_file_in_the_media_store(app, client, device, db_session):
    """A photo sent with a refused edit or a clashing record must not stay on disk (found by the fuzzer)."""
    assert post(client, device, make_instance("uuid:kept"), {"photo.jpg": JPEG}).status_code == 201
    before, rows = media_files(app), stored(db_session)
    refused = {
        "edit of a record not on the server": (make_instance("uuid:e1", deprecated_id="uuid:absent"), 404),
        "same instanceID, other answers": (make_instance("uuid:kept", name="Other"), 409),
    }
    for case, (xml, status) in refused.items():
        response = post(client, device, xml, {"photo.jpg": JPEG + case.encode()})
        assert response.status_code == status, (case, response.data[:300])
        assert media_files(app) == before, case
    assert stored(db_session) == rows
