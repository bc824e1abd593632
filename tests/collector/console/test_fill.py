"""Forms filled in a browser (issue 19): the console's and the desk links' form, media and submission routes
through Flask's client, on both databases. The submission goes through Collect's write path: exactly once per
instanceID, the same province rule; hostile cases are refused with a status and store nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from collector.console.web import CSRF_HEADER, WEBFORMS_CSP
from ingest.models import AuditEvent, Device, Form, Submission
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_instance
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of

FILL = "/console/projects/1/forms/sample_case/fill"


def sign_in(client, email=OFFICER, password=PASSWORD) -> str:
    """Sign in to the console and return the session's CSRF token."""
    assert console_sign_in(client, email, password).status_code == 302
    return csrf_of(client.get("/console/projects/1/forms"))


def multipart(xml: bytes | None, files: dict[str, bytes] | None = None) -> dict:
    data = {} if xml is None else {"xml_submission_file": (io.BytesIO(xml), "xml_submission_file.xml", "text/xml")}
    for name, body in (files or {}).items():
        data[name] = (io.BytesIO(body), name, "image/jpeg")
    return data


def send(client, url: str, xml: bytes | None, csrf: str | None = None, files=None, **kwargs):
    headers = {CSRF_HEADER: csrf} if csrf else {}
    return client.post(url, data=multipart(xml, files), content_type="multipart/form-data", headers=headers, **kwargs)


def stored(db_session) -> list[Submission]:
    db_session.rollback()
    db_session.expire_all()
    return list(db_session.scalars(select(Submission).order_by(Submission.id)))


def test_an_officer_fills_a_form_once_in_their_province(client, db_session, staff, published_form):
    csrf = sign_in(client)
    page = client.get(FILL)
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == WEBFORMS_CSP
    assert "script-src 'self' 'wasm-unsafe-eval';" in WEBFORMS_CSP and "'unsafe-eval'" not in WEBFORMS_CSP
    html = page.get_data(as_text=True)
    assert f'data-submit-url="{FILL}/submission"' in html and f'data-csrf="{csrf}"' in html
    xml = client.get(f"{FILL}/form.xml")
    assert xml.status_code == 200 and 'id="sample_case"' in xml.get_data(as_text=True)
    media = client.get(f"{FILL}/media/provinces.csv")
    assert media.status_code == 200 and "ນະຄອນຫຼວງວຽງຈັນ" in media.get_data(as_text=True)
    media.close()
    assert client.get(f"{FILL}/media/nothing.png").status_code == 404

    instance = make_instance("uuid:web-1", name="ນາງ ແກ້ວ", photo="photo.jpg")
    first = send(client, f"{FILL}/submission", instance, csrf, files={"photo.jpg": b"\xff\xd8 a photo"})
    assert first.status_code == 201, first.get_data(as_text=True)
    # Sent again (a lost answer, Send pressed twice): answered as Collect is, stored once.
    again = send(client, f"{FILL}/submission", instance, csrf, files={"photo.jpg": b"\xff\xd8 a photo"})
    assert again.status_code == 201 and "already received" in again.get_data(as_text=True)
    clash = send(client, f"{FILL}/submission", make_instance("uuid:web-1", name="Another"), csrf)
    assert clash.status_code == 409
    (record,) = stored(db_session)
    # The sample answers province 01; an officer of 05 sends for 05: kept in 05, the claim noted.
    assert (record.instance_id, record.province_code, record.claimed_province) == ("uuid:web-1", "05", "01")
    assert record.user_id is not None and record.device_id is None


def test_hostile_submissions_are_refused_and_store_nothing(app, client, db_session, staff, published_form):
    csrf = sign_in(client)
    url = f"{FILL}/submission"
    assert send(client, url, make_instance(), "not the token").status_code == 400  # bad CSRF
    assert send(client, url, make_instance()).status_code == 400  # no CSRF token at all
    assert send(client, url, None, csrf, files={"photo.jpg": b"x"}).status_code == 400  # no XML part
    wrong = send(client, "/console/projects/1/forms/other_form/fill/submission", make_instance(), csrf)
    assert wrong.status_code == 400 and "not of the form" in wrong.get_data(as_text=True)
    unknown = send(client, url, make_instance(form_id="no_such_form"), csrf)
    assert unknown.status_code == 400  # another form than the URL names
    big = (
        b'--b\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="x.xml"\r\n\r\n'
        + make_instance()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="photo.jpg"; filename="photo.jpg"\r\n\r\n'
        + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
        + b"\r\n--b--\r\n"
    )
    over = client.post(url, data=big, content_type="multipart/form-data; boundary=b", headers={CSRF_HEADER: csrf})
    assert over.status_code == 413
    plain = client.post(url, data=make_instance(), content_type="text/xml", headers={CSRF_HEADER: csrf})
    assert plain.status_code == 400
    assert stored(db_session) == []


def test_draft_and_closed_forms_are_not_filled(client, db_session, staff, published_form):
    from ingest.publishing.versions import FORM_STATES

    csrf = sign_in(client)
    form = db_session.scalar(select(Form).where(Form.xml_form_id == "sample_case"))
    form.state = "closed"
    db_session.commit()
    assert "closed" in FORM_STATES
    assert client.get(FILL).status_code == 409
    assert client.get(f"{FILL}/form.xml").status_code == 409
    closed = send(client, f"{FILL}/submission", make_instance(), csrf)
    assert closed.status_code == 409 and "closed" in closed.get_data(as_text=True)
    # A form with a draft only (never published) is not on offer, and its instances are refused.
    draft = db_session.get(Form, form.id)
    for version in draft.versions:
        version.published_at = None
    draft.state = "open"
    db_session.commit()
    assert client.get(FILL).status_code == 404
    assert send(client, f"{FILL}/submission", make_instance(), csrf).status_code == 404
    assert stored(db_session) == []


@pytest.mark.parametrize("email", [ANALYST, TRAINER])
def test_a_role_that_may_not_send_records_gets_403(client, db_session, staff, published_form, email):
    csrf = sign_in(client, email)
    assert client.get(FILL).status_code == 403
    assert client.get("/console/projects/1/fill").status_code == 403
    assert send(client, f"{FILL}/submission", make_instance(), csrf).status_code == 403
    assert stored(db_session) == []


def test_desk_links_send_for_their_province_and_stop_when_revoked(client, db_session, admin, published_form):
    csrf = sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    made = client.post("/console/desks", data={"csrf_token": csrf, "name": "Shelter desk", "province": "05"})
    assert made.status_code == 303
    desk = db_session.scalar(select(Device).where(Device.kind == "desk"))
    listing = client.get("/console/desks").get_data(as_text=True)
    assert f"/console/desk/{desk.token}/" in listing
    assert client.get("/console/devices").get_data(as_text=True).count("Shelter desk") == 0  # not a tablet

    desk_client = client.application.test_client()  # a shelter's browser: no console session
    base = f"/console/desk/{desk.token}"
    assert desk_client.get(f"{base}/").status_code == 200
    page = desk_client.get(f"{base}/forms/sample_case")
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == WEBFORMS_CSP
    assert "data-csrf" not in page.get_data(as_text=True)
    media = desk_client.get(f"{base}/forms/sample_case/media/provinces.csv")
    assert media.status_code == 200
    media.close()
    sent = send(desk_client, f"{base}/forms/sample_case/submission", make_instance("uuid:desk-1"))
    assert sent.status_code == 201, sent.get_data(as_text=True)
    (record,) = stored(db_session)
    # The desk of 05 named province 01 in its answers: kept in 05 with the claim, as a tablet's would be.
    assert (record.device_id, record.province_code, record.claimed_province) == (desk.id, "05", "01")

    # A tablet's token is not a desk link.
    from ingest.accounts.users import create_device

    tablet = create_device(db_session, 1, "Tablet", "05")
    db_session.commit()
    assert desk_client.get(f"/console/desk/{tablet.token}/").status_code == 403
    assert (
        send(desk_client, f"/console/desk/{tablet.token}/forms/sample_case/submission", make_instance()).status_code
        == 403
    )

    assert client.post(f"/console/desks/{desk.id}/revoke", data={"csrf_token": csrf}).status_code == 400
    revoked = client.post(f"/console/desks/{desk.id}/revoke", data={"csrf_token": csrf, "confirm": "yes"})
    assert revoked.status_code == 303
    assert desk_client.get(f"{base}/forms/sample_case").status_code == 403
    refused = send(desk_client, f"{base}/forms/sample_case/submission", make_instance("uuid:desk-2"))
    assert refused.status_code == 403
    assert len(stored(db_session)) == 1
    actions = set(db_session.scalars(select(AuditEvent.action).where(AuditEvent.resource == f"device:{desk.id}")))
    assert {"desk.create", "desk.revoke"} <= actions


def test_only_administrators_manage_desk_links(client, db_session, staff, published_form):
    csrf = sign_in(client, TRAINER)
    assert client.get("/console/desks").status_code == 403
    made = client.post("/console/desks", data={"csrf_token": csrf, "name": "Desk", "province": "05"})
    assert made.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Device)) == 0


def test_without_node_the_page_says_how_to_build_web_forms(client, staff, published_form, monkeypatch, tmp_path):
    from collector.console.views import fill

    monkeypatch.setattr(fill, "BUILT", tmp_path / "webforms.js")
    sign_in(client)
    html = client.get(FILL + "?lang=en").get_data(as_text=True)
    assert "make webforms" in html and "webforms.js" not in html


@pytest.mark.parametrize("token", ["%00", "x" * 5000, "..%2F..", "' OR 1=1 --"])
def test_a_hostile_desk_token_is_refused(client, published_form, token):
    for path in (f"/console/desk/{token}/", f"/console/desk/{token}/forms/sample_case"):
        response = client.get(path)
        assert response.status_code in (400, 403, 404), (path, response.status_code)
    sent = send(client, f"/console/desk/{token}/forms/sample_case/submission", make_instance())
    assert sent.status_code in (400, 403, 404)
