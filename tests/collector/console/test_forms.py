"""The console's forms pages (issue 18, page 1): upload an XLSForm as a draft with its problems at their sheet
and row, add media, test QR code, what changed, publish, state and version history; for trainers and admins."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from collector.devices import decode_payload
from forms.lao import strip_marks
from ingest.models import AuditEvent, Form, FormVersion
from tests.conftest import DATA
from tests.support.access import _basic
from tests.support.console import ANALYST, OFFICER, TRAINER, console_sign_in, csrf_of, routed
from tests.support.fuzzing import FUZZ, encode, hostile, path_param
from tests.support.xlsforms import BROKEN_NAME, BROKEN_ROW, broken_sample, changed_sample

FORMS = "/console/projects/1/forms"
DETAIL = f"{FORMS}/sample_case"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page(response) -> str:
    """The page's HTML without the Lao word-break marks."""
    assert response.mimetype == "text/html", response.mimetype
    return strip_marks(response.get_data(as_text=True))


@pytest.fixture
def trainer(app, client, staff, published_form):
    """A trainer signed in on `client`; ODK Validate (Java) runs in one test only."""
    app.config["VALIDATE_FORMS"] = False
    assert console_sign_in(client, TRAINER).status_code == 302
    return csrf_of(client.get(FORMS))


def upload(client, csrf, data: bytes, path=f"{FORMS}/new", name="form.xlsx", **kwargs):
    """Post `data` as the XLSForm file, the body built in memory (the test client spools a large one to a
    temporary file it leaves open)."""
    boundary, body = encode_multipart(
        MultiDict({"csrf_token": csrf, "xlsform": FileStorage(io.BytesIO(data), name, content_type=XLSX)})
    )
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def actions(db_session) -> list[str]:
    db_session.rollback()
    return list(db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_upload_a_changed_version_add_media_see_the_changes_and_publish(
    client, trainer, admin, db_session, published_form
):
    lao = page(client.get(f"{FORMS}/new"))
    assert 'enctype="multipart/form-data"' in lao and 'type="file" name="xlsform"' in lao
    response = upload(client, trainer, changed_sample())
    assert response.status_code == 302 and response.headers["Location"] == DETAIL
    assert "ບັນທຶກສະບັບຮ່າງ 2026120601 ແລ້ວ." in page(client.get(DETAIL))
    html = page(client.get(f"{DETAIL}?lang=en"))
    # What changed, side by side with the published version.
    for text in ("Questions added", "Phone number", "Questions removed", "Photo", "Age in years", "Forced labour"):
        assert text in html, text
    assert re.search(r'class="old">Age<.*class="new">Age in years<', html, re.S)
    # The draft's media: provinces.csv carried over from the published version.
    assert "<code>provinces.csv</code>" in html and "missing" not in html.split('id="media"')[1].split("</table>")[0]
    # The test QR code is Collect's settings for the draft's test URL, as the API's testQrPayload.
    qr = client.get(f"{DETAIL}/draft/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png" and qr.data.startswith(b"\x89PNG")
    assert qr.headers["Cache-Control"] == "no-store"
    draft = db_session.scalar(select(FormVersion).where(FormVersion.version == "2026120601"))
    api = client.get("/v1/projects/1/forms/sample_case/draft", headers=_basic(*admin)).get_json()
    test_url = api["testUrl"]
    assert test_url.endswith(f"/v1/test/{draft.draft_token}/projects/1/forms/sample_case/draft")
    assert f'value="{test_url}"' in html
    assert decode_payload(api["testQrPayload"])["general"]["server_url"] == test_url
    assert _decoded_qr(qr.data) in (None, test_url)
    # Media: replace provinces.csv through the page.
    media = client.post(
        f"{DETAIL}/draft/media",
        data={"csrf_token": trainer, "name": "provinces.csv", "file": (io.BytesIO(b"name,label\n01,A\n"), "p.csv")},
        content_type="multipart/form-data",
    )
    assert media.status_code == 302 and media.headers["Location"].endswith("#media")
    # Publish needs the confirmation box.
    refused = client.post(f"{DETAIL}/publish", data={"csrf_token": trainer})
    assert refused.status_code == 400 and "Tick the box confirming" in page(refused)
    done = client.post(f"{DETAIL}/publish?lang=lo", data={"csrf_token": trainer, "confirm": "yes"})
    assert done.status_code == 302
    html = page(client.get(f"{DETAIL}?lang=lo"))
    assert "ເຜີຍແຜ່ສະບັບ 2026120601 ແລ້ວ." in html and '<code class="version">2026120601</code>' in html
    assert "ແບບຟອມນີ້ບໍ່ມີສະບັບຮ່າງ" in html  # no draft any more
    # Version history: both versions, each with its XLSForm and XForm.
    for version in (published_form.version, "2026120601"):
        xlsx = client.get(f"{DETAIL}/versions/{version}.xlsx")
        assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK") and xlsx.mimetype == XLSX
        assert f'filename="sample_case-{version}.xlsx"' in xlsx.headers["Content-Disposition"]
        xml = client.get(f"{DETAIL}/versions/{version}.xml")
        assert xml.status_code == 200 and f'version="{version}"'.encode() in xml.data
        assert f"{DETAIL}/versions/{version}.xlsx" in html
    assert actions(db_session)[-3:] == ["form.draft", "form.media", "form.publish"]


def _decoded_qr(png: bytes) -> str | None:
    """The server URL the QR code carries, read back with zbarimg where it is installed (else None)."""
    import shutil
    import subprocess

    if shutil.which("zbarimg") is None:
        return None
    out = subprocess.run(["zbarimg", "-q", "--raw", "-"], input=png, capture_output=True, check=False).stdout
    return decode_payload(out.decode().strip())["general"]["server_url"]


def test_a_broken_xlsform_shows_its_problem_at_its_sheet_and_row(client, trainer, db_session):
    response = upload(client, trainer, broken_sample())
    html = page(response)
    assert response.status_code == 400
    row = re.search(r'<tr class="error">(.*?)</tr>', html, re.S).group(1)
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[0] == "survey" and cells[1] == str(BROKEN_ROW) and BROKEN_NAME in cells[3]
    assert "pyxform ປ່ຽນແບບຟອມນີ້ບໍ່ໄດ້." in html  # our summary in the page's language
    assert db_session.scalar(select(FormVersion).where(FormVersion.published_at.is_(None))) is None


@pytest.mark.parametrize(
    ("data", "name", "status", "lao", "english"),
    [
        (b"this is not a spreadsheet", "x.xlsx", 400, "ໄຟລ໌ນີ້ບໍ່ແມ່ນຕາຕະລາງ .xlsx.", "Save the form in Excel"),
        (b"", "empty.xlsx", 400, "ໄຟລ໌ນີ້ຫວ່າງເປົ່າ.", "The file is empty."),
        (b"PK\x03\x04" + b"\0" * 100, "zip.xlsx", 400, "ໄຟລ໌ນີ້ບໍ່ແມ່ນຕາຕະລາງ .xlsx.", "This file is not"),
        (b"x" * (5 * 1024 * 1024 + 1), "huge.xlsx", 413, "ໄຟລ໌ນີ້ໃຫຍ່ເກີນໄປ", "The file is too large: at most 5 MB."),
        (b"x" * (60 * 1024 * 1024), "huger.xlsx", 413, "ໃຫຍ່ເກີນໄປ", "too large"),
    ],
)
def test_hostile_uploads_get_a_page_in_the_users_language(
    app, client, trainer, db_session, data, name, status, lao, english
):
    app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024  # as deployed: a submission may be larger than an XLSForm
    response = upload(client, trainer, data, name=name)
    assert response.status_code == status and lao in page(response)
    response = upload(client, trainer, data, name=name, query_string={"lang": "en"})
    assert response.status_code == status and english in page(response)
    assert db_session.scalar(select(FormVersion).where(FormVersion.published_at.is_(None))) is None


def test_no_file_a_wrong_form_id_and_a_missing_csrf_token_are_refused(client, trainer, db_session):
    none = client.post(f"{FORMS}/new", data={"csrf_token": trainer}, content_type="multipart/form-data")
    assert none.status_code == 400 and "ກະລຸນາເລືອກໄຟລ໌" in page(none)
    referral = (DATA.parent.parent / "forms" / "xlsforms" / "referral.xlsx").read_bytes()
    other = upload(client, trainer, referral, path=f"{DETAIL}/draft")
    assert other.status_code == 400 and "form_id ຂອງ XLSForm ນີ້ບໍ່ແມ່ນ &#39;sample_case&#39;" in page(other)
    forged = client.post(
        f"{FORMS}/new", data={"xlsform": (io.BytesIO(changed_sample()), "f.xlsx")}, content_type="multipart/form-data"
    )
    assert forged.status_code == 400
    assert db_session.scalar(select(FormVersion).where(FormVersion.published_at.is_(None))) is None


def test_a_new_form_is_uploaded_as_a_draft_of_its_own(client, trainer, db_session):
    referral = (DATA.parent.parent / "forms" / "xlsforms" / "referral.xlsx").read_bytes()
    response = upload(client, trainer, referral)
    assert response.status_code == 302 and response.headers["Location"] == f"{FORMS}/referral"
    html = page(client.get(f"{FORMS}/referral?lang=en"))
    assert "This form was never published" in html and "Publish the draft" in html
    # Its media are missing: listed, and publishing without them needs the second box.
    assert "missing" in html and 'name="force"' in html
    refused = client.post(f"{FORMS}/referral/publish", data={"csrf_token": trainer, "confirm": "yes"})
    assert refused.status_code == 409 and "Upload them first" in page(refused)
    listed = page(client.get(FORMS))
    assert f'href="{FORMS}/referral"' in listed and f'href="{FORMS}/new"' in listed


def test_a_media_file_the_form_does_not_use_is_refused(client, trainer, db_session):
    upload(client, trainer, changed_sample())
    response = client.post(
        f"{DETAIL}/draft/media",
        data={"csrf_token": trainer, "file": (io.BytesIO(b"a,b\n"), "../../etc/passwd.csv")},
        content_type="multipart/form-data",
    )
    html = page(response)
    assert response.status_code == 404 and "ແບບຟອມບໍ່ໄດ້ໃຊ້ໄຟລ໌ຊື່" in html and "provinces.csv" in html
    empty = client.post(
        f"{DETAIL}/draft/media",
        data={"csrf_token": trainer, "name": "provinces.csv", "file": (io.BytesIO(b""), "provinces.csv")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and "form.media" not in actions(db_session)


def test_publish_discard_media_and_qr_without_a_draft_say_so(client, trainer):
    for response in (
        client.post(f"{DETAIL}/publish", data={"csrf_token": trainer, "confirm": "yes"}),
        client.post(f"{DETAIL}/draft/discard", data={"csrf_token": trainer}),
        client.post(
            f"{DETAIL}/draft/media",
            data={"csrf_token": trainer, "file": (io.BytesIO(b"x"), "provinces.csv")},
            content_type="multipart/form-data",
        ),
        client.get(f"{DETAIL}/draft/qr.png"),
    ):
        assert response.status_code == 404 and "ບໍ່ມີສະບັບຮ່າງ" in page(response)
    for path in (
        f"{FORMS}/nope",
        f"{FORMS}/nope/versions/1.xml",
        f"{DETAIL}/versions/1.xlsx",
        "/console/projects/9/forms/new",
    ):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html", path


def test_discard_a_draft(client, trainer, db_session):
    upload(client, trainer, changed_sample())
    response = client.post(f"{DETAIL}/draft/discard", data={"csrf_token": trainer})
    assert response.status_code == 302
    assert "ຍົກເລີກສະບັບຮ່າງ ແລະ ຂໍ້ມູນທົດສອບຂອງມັນແລ້ວ." in page(client.get(DETAIL))
    assert actions(db_session)[-1] == "form.draft_discard"


def test_open_closing_closed(client, trainer, db_session):
    for state in ("closing", "closed", "open"):
        response = client.post(f"{DETAIL}/state", data={"csrf_token": trainer, "state": state})
        assert response.status_code == 302
        db_session.rollback()
        assert db_session.scalar(select(Form.state).where(Form.xml_form_id == "sample_case")) == state
    bad = client.post(f"{DETAIL}/state", data={"csrf_token": trainer, "state": "deleted"})
    assert bad.status_code == 400 and "ສະຖານະຕ້ອງແມ່ນ" in page(bad)
    assert actions(db_session).count("form.state") == 3


def test_publishing_a_version_already_published_is_refused_in_lao(client, trainer, db_session):
    data = (DATA / "sample_case.xlsx").read_bytes()  # the published version's own XLSForm
    assert upload(client, trainer, data).status_code == 302
    response = client.post(f"{DETAIL}/publish", data={"csrf_token": trainer, "confirm": "yes"})
    assert response.status_code == 409 and "ສະບັບນີ້ຂອງແບບຟອມໄດ້ເຜີຍແຜ່ແລ້ວ" in page(response)


def test_odk_validate_runs_on_a_console_upload(app, client, trainer):
    app.config["VALIDATE_FORMS"] = True
    assert upload(client, trainer, changed_sample()).status_code == 302


WRITES = ("/new", "/sample_case/draft", "/sample_case/draft/media", "/sample_case/publish", "/sample_case/state")
READS = ("/new", "/sample_case", "/sample_case/draft/qr.png", "/sample_case/versions/2026112901.xlsx")


@pytest.mark.parametrize("email", [ANALYST, OFFICER])
def test_roles_without_the_forms_right_get_403_pages(client, staff, published_form, email, db_session):
    console_sign_in(client, email)
    csrf = csrf_of(client.get(FORMS))
    assert f"{FORMS}/new" not in page(client.get(FORMS))
    for tail in READS:
        response = client.get(FORMS + tail)
        assert response.status_code == 403 and "ບົດບາດຂອງທ່ານ" in page(response), tail
    for tail in WRITES:
        response = client.post(FORMS + tail, data={"csrf_token": csrf, "confirm": "yes", "state": "closed"})
        assert response.status_code == 403 and response.mimetype == "text/html", tail
    db_session.rollback()
    assert db_session.scalar(select(Form.state).where(Form.xml_form_id == "sample_case")) == "open"


def test_signed_out_visitors_are_sent_to_sign_in(client, published_form):
    for tail in READS:
        response = client.get(FORMS + tail)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"], tail


@FUZZ
@given(data=st.data())
def test_hostile_requests_to_the_forms_pages_never_5xx_and_answer_in_html(fuzz_forms, data):
    """Any forms page, method, form ID, version and form field (NULs, lone surrogates, huge values): below 500,
    and every refusal a page, never the API's JSON."""
    client, csrf, app = fuzz_forms
    rule = data.draw(
        st.sampled_from(
            [
                "/console/projects/{p}/forms/new",
                "/console/projects/{p}/forms/{f}",
                "/console/projects/{p}/forms/{f}/draft",
                "/console/projects/{p}/forms/{f}/draft/media",
                "/console/projects/{p}/forms/{f}/draft/qr.png",
                "/console/projects/{p}/forms/{f}/draft/discard",
                "/console/projects/{p}/forms/{f}/publish",
                "/console/projects/{p}/forms/{f}/state",
                "/console/projects/{p}/forms/{f}/versions/{v}.xlsx",
                "/console/projects/{p}/forms/{f}/versions/{v}.xml",
            ]
        ),
        "page",
    )
    project = data.draw(path_param("int", ["1"]), "project")
    form = data.draw(path_param(None, ["sample_case"]), "form")
    version = data.draw(path_param(None, ["2026112901"]), "version")
    path = rule.format(p=encode(project), f=encode(form), v=encode(version))
    method = data.draw(st.sampled_from(["GET", "POST"]), "method")
    fields = data.draw(
        st.dictionaries(
            st.sampled_from(["state", "confirm", "force", "name"]),
            st.one_of(st.sampled_from(["open", "closing", "yes", "provinces.csv"]), hostile),
            max_size=3,
        ),
        "form fields",
    )
    fields = {"csrf_token": csrf, **fields}
    if data.draw(st.booleans(), "with a file"):
        # Multipart carries text as UTF-8 (a lone surrogate cannot be sent that way; the form-encoded body can).
        body = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in fields.items()}
        body["file" if "media" in rule else "xlsform"] = (io.BytesIO(data.draw(st.binary(max_size=64))), "x.xlsx")
        response = client.open(path, method=method, data=body, content_type="multipart/form-data")
    else:
        encoded = "&".join(f"{encode(k)}={encode(v)}" for k, v in fields.items())
        response = client.open(path, method=method, data=encoded, content_type="application/x-www-form-urlencoded")
    response.close()
    assert response.status_code < 500, (method, path, response.status_code)
    if response.status_code >= 400 and routed(app, path, method):
        assert response.mimetype == "text/html", (method, path, response.status_code, response.mimetype)


@pytest.fixture
def fuzz_forms(app, client, trainer):
    return client, trainer, app
