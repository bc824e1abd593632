"""The console's tablets and courses (issue 18, page 2): list with last seen and last submission, create, the
settings QR code, the course kit, revoke; a provincial trainer only its provinces' tablets; hostile input."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from collector.devices import decode_payload
from forms.lao import strip_marks
from ingest.models import AuditEvent, Device
from tests.conftest import make_instance
from tests.support.console import ANALYST, PASSWORD, TRAINER, console_sign_in, csrf_of
from tests.support.openrosa import post

TRAINER05 = "trainer05@example.la"
DEVICES = "/console/devices"


@pytest.fixture
def trainer05(app, db_session, staff):
    """A provincial trainer of province 05."""
    from ingest.accounts.users import create_user

    create_user(db_session, TRAINER05, PASSWORD, "trainer", provinces=["05"], display_name="Trainer 05")
    db_session.commit()


@pytest.fixture
def tablets(app, db_session, published_form):
    """One tablet of province 01 (which sent a record) and one of 05, both for every form."""
    from ingest.accounts.users import create_device

    made = {p: create_device(db_session, 1, f"Tablet {p}", p) for p in ("01", "05")}
    db_session.commit()
    return {p: d.id for p, d in made.items()} | {"objects": made}


def shown(response) -> str:
    """The page's text without the Lao word-break marks the console puts in every page."""
    return strip_marks(response.get_data(as_text=True))


def signed_in(client, email=TRAINER):
    assert console_sign_in(client, email, PASSWORD).status_code == 302
    return csrf_of(client.get(DEVICES))


def fresh(db_session, device_id: int) -> Device:
    """Read a device as it is now (the session keeps objects unexpired between its transactions)."""
    db_session.rollback()
    db_session.expire_all()
    return db_session.get(Device, device_id)


def count(db_session, model, *where) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_list_shows_province_forms_last_seen_and_last_submission(client, staff, tablets, db_session):
    assert post(client, tablets["objects"]["01"], make_instance("uuid:dev-1")).status_code == 201
    signed_in(client)
    html = shown(client.get(f"{DEVICES}?lang=en"))
    assert "Tablet 01" in html and "Tablet 05" in html and "<code>sample_case</code>" in html
    row01 = re.search(r"Tablet 01.*?</tr>", html, re.S).group(0)
    row05 = re.search(r"Tablet 05.*?</tr>", html, re.S).group(0)
    assert row01.count(" UTC") == 2  # last seen and last submission
    assert row05.count("never") == 2


def test_create_a_tablet_and_its_qr_code_carries_its_settings(client, staff, published_form, db_session):
    token = signed_in(client)
    response = client.post(DEVICES, data={"csrf_token": token, "name": "Room A 01", "province": "05"})
    assert response.status_code == 303
    device = db_session.scalar(select(Device).where(Device.display_name == "Room A 01"))
    assert device.province_code == "05" and [f.xml_form_id for f in device.forms] == ["sample_case"]
    detail = shown(client.get(response.headers["Location"]))
    assert f"/v1/key/{device.token}/projects/1" in detail
    qr = client.get(f"{DEVICES}/{device.id}/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png" and qr.headers["Cache-Control"] == "no-store"
    from PIL import Image

    assert Image.open(io.BytesIO(qr.data)).size[0] >= 800  # large enough to scan from a projector
    assert count(db_session, AuditEvent, AuditEvent.action == "device.create") == 1


def test_create_for_chosen_forms_only(client, staff, published_form, db_session):
    token = signed_in(client)
    data = {"csrf_token": token, "name": "Only sample", "province": "01", "forms": ["sample_case"]}
    assert client.post(DEVICES, data=data).status_code == 303
    data["forms"] = ["no_such_form"]
    response = client.post(f"{DEVICES}?lang=en", data=data)
    assert response.status_code == 400 and "not in this project" in shown(response)


@pytest.mark.parametrize("province", ["19", "00", "5", "", "05<script>", "٠٥"])
def test_a_province_not_one_of_the_18_is_refused_in_the_page_language(client, staff, published_form, province):
    token = signed_in(client)
    response = client.post(f"{DEVICES}?lang=lo", data={"csrf_token": token, "name": "X", "province": province})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "18 ແຂວງ" in shown(response)


def test_a_nameless_tablet_and_no_csrf_token_are_refused(client, staff, published_form, db_session):
    token = signed_in(client)
    assert client.post(DEVICES, data={"csrf_token": token, "name": " ", "province": "05"}).status_code == 400
    assert client.post(DEVICES, data={"name": "No token", "province": "05"}).status_code == 400
    assert count(db_session, Device) == 0


def test_a_trainer_of_05_neither_sees_nor_revokes_a_tablet_of_01(client, trainer05, tablets, db_session):
    token = signed_in(client, TRAINER05)
    html = shown(client.get(DEVICES))
    assert "Tablet 05" in html and "Tablet 01" not in html
    for path in ("", "/qr.png"):
        assert client.get(f"{DEVICES}/{tablets['01']}{path}").status_code == 404
    response = client.post(f"{DEVICES}/{tablets['01']}/revoke", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 404
    assert fresh(db_session, tablets["01"]).revoked_at is None
    # Nor create one for 01, whatever the form says; its own province is fine.
    response = client.post(f"{DEVICES}?lang=en", data={"csrf_token": token, "name": "Sneaky", "province": "01"})
    assert response.status_code == 403 and "your own provinces" in shown(response)
    assert client.post(DEVICES, data={"csrf_token": token, "name": "Fine", "province": "05"}).status_code == 303
    # The province list offers only 05.
    assert re.findall(r'<option value="(\d\d)"', shown(client.get(DEVICES))) == ["05"]


def test_revoke_needs_the_confirmation_then_the_tablet_is_refused(client, staff, tablets, db_session):
    token = signed_in(client)
    url = f"{DEVICES}/{tablets['05']}/revoke"
    assert client.post(url, data={"csrf_token": token}).status_code == 400
    assert client.post(url, data={"confirm": "yes"}).status_code == 400  # no CSRF token
    assert fresh(db_session, tablets["05"]).revoked_at is None
    assert client.post(url, data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    assert fresh(db_session, tablets["05"]).revoked_at is not None
    assert client.get(f"{DEVICES}/{tablets['05']}/qr.png").status_code == 404
    assert post(client, tablets["objects"]["05"], make_instance("uuid:dev-late")).status_code == 403
    assert count(db_session, AuditEvent, AuditEvent.action == "device.revoke") == 1


@pytest.mark.parametrize("device_id", ["999999", "0", "99999999999999999999"])
def test_revoking_an_unknown_tablet_is_a_404_page(client, staff, published_form, device_id):
    token = signed_in(client)
    response = client.post(f"{DEVICES}/{device_id}/revoke", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_the_course_kit_creates_the_tablets_and_one_qr_page_each(client, staff, published_form, db_session):
    token = signed_in(client)
    assert "course" in shown(client.get(f"{DEVICES}/course"))
    data = {"csrf_token": token, "province": "05", "count": "3", "course": "Vientiane course", "lang": "en"}
    response = client.post(f"{DEVICES}/course", data=data)
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.data[:300]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    made = list(db_session.scalars(select(Device).where(Device.province_code == "05").order_by(Device.id)))
    assert len(made) == 3 and made[0].display_name.endswith("tablet 05-01")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Vientiane course" in text
    for device in made:
        assert device.display_name in text
    assert count(db_session, AuditEvent, AuditEvent.action == "device.create") == 3


@pytest.mark.parametrize(
    "change", [{"count": "0"}, {"count": "201"}, {"count": "two"}, {"province": "19"}, {"lang": "fr"}]
)
def test_a_bad_course_is_refused_and_creates_nothing(client, staff, published_form, db_session, change):
    token = signed_in(client)
    data = {"csrf_token": token, "province": "05", "count": "2", "lang": "both"} | change
    response = client.post(f"{DEVICES}/course", data=data)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert count(db_session, Device) == 0


def test_staff_without_the_forms_right_get_403(client, staff, tablets):
    signed_in_page = console_sign_in(client, ANALYST, PASSWORD)
    assert signed_in_page.status_code == 302
    for path in (DEVICES, f"{DEVICES}/{tablets['05']}", f"{DEVICES}/{tablets['05']}/qr.png", f"{DEVICES}/course"):
        assert client.get(path).status_code == 403, path


def test_the_qr_code_decodes_to_the_tablet_url(client, staff, tablets, db_session):
    """The PNG carries Collect's settings for this tablet's token URL (read back with zbarimg when installed)."""
    import shutil
    import subprocess

    signed_in(client)
    png = client.get(f"{DEVICES}/{tablets['05']}/qr.png").data
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg (zbar-tools) is not installed")
    payload = subprocess.run(["zbarimg", "--raw", "-q", "-"], input=png, capture_output=True).stdout.decode().strip()
    device = db_session.get(Device, tablets["05"])
    settings = decode_payload(payload)
    assert settings["general"]["server_url"] == f"http://localhost/v1/key/{device.token}/projects/1"
