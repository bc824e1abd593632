"""Forms filled in a real browser with ODK Web Forms (issue 19): an officer of province 05 fills the sample form in
Lao (typed Lao text, a repeat of two places, a photo, a question a skip rule shows), switches the form to
English, sends it, and the record is stored once in province 05; a desk link of province 05 sends without an
account and its answer naming another province is kept in 05, as a tablet's is; an analyst is refused and a
revoked desk link is refused. One live server for the module; few page loads."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.console.views.fill import webforms_built
from ingest.db import make_engine
from ingest.models import Submission, SubmissionAttachment, SubmissionVersion
from tests.support.browser import SIZES, PageErrors, add_role_users, assert_clean, open_console, text_of
from tests.support.live import ROOT, LiveServer

FILL = "/console/projects/1/forms/sample_case/fill"


@pytest.fixture(scope="module")
def fill_server(database_url, tmp_path_factory):
    """A live server with the sample form (bilingual, a skip rule, a repeat, photos, a CSV of provinces), the
    bundled follow-up form (its hand-off list made per sender), a user per role and a desk link of province 05."""
    from tests.conftest import truncate

    if not webforms_built():
        pytest.fail("ODK Web Forms is not built: run `make webforms` (make test does)")
    truncate(database_url)
    live = LiveServer(database_url, tmp_path_factory.mktemp("fill") / "instance", workers=2).start()
    live.cli(
        "forms",
        "publish",
        str(ROOT / "tests" / "data" / "sample_case.xlsx"),
        str(ROOT / "forms/xlsforms/followup.xlsx"),
    )
    add_role_users(database_url)
    engine = make_engine(database_url)
    with Session(engine) as db:
        from ingest.accounts.admin import add_desk, end_desk

        desk = add_desk(db, 1, "ໂຕະ ສູນພັກພິງ", "05")
        gone = add_desk(db, 1, "Old desk", "05")
        end_desk(db, gone)
        db.commit()
        live.desk, live.gone = desk.token, gone.token
    live.engine = engine
    yield live
    live.stop()
    engine.dispose()
    truncate(database_url)


def records(server) -> list[Submission]:
    with Session(server.engine) as db:
        rows = list(db.scalars(select(Submission).order_by(Submission.id)))
        db.expunge_all()
        return rows


def current_xml(server, submission_id: int) -> tuple[str, list[str]]:
    with Session(server.engine) as db:
        version = db.scalar(
            select(SubmissionVersion).where(SubmissionVersion.submission_id == submission_id, SubmissionVersion.current)
        )
        names = db.scalars(
            select(SubmissionAttachment.name).where(
                SubmissionAttachment.submission_version_id == version.id, SubmissionAttachment.blob_id.is_not(None)
            )
        )
        return version.xml.decode(), list(names)


def a_photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def wait_for_form(page) -> None:
    page.wait_for_selector("#webform[data-ready=true]")
    page.get_by_text("ຍິນຍອມບໍ?").first.wait_for()


def send(page) -> str:
    page.locator("#webform-status").evaluate("node => { node.dataset.kind = 'pressed'; }")  # no earlier answer
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("#webform-status[data-kind=done], #webform-status[data-kind=error]")
    return page.locator("#webform-status").inner_text()


def test_an_officer_fills_the_form_in_lao_and_it_is_stored_once(chromium, fill_server):
    page = open_console(chromium, fill_server, "provincial-officer", lang="lo")
    page.goto(FILL)
    wait_for_form(page)
    name = page.get_by_label("ຊື່ ແລະ ນາມສະກຸນ")
    assert name.count() == 0  # the skip rule hides it until consent is given
    page.get_by_text("ແມ່ນ", exact=True).click()
    name.wait_for()
    name.press_sequentially("ນາງ ແກ້ວ ມະນີວົງ")
    page.get_by_text("ບໍ່ແກ້ວ (Bokeo)").click()  # province 05, from the form's CSV (media fetched by Web Forms)
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": a_photo()}]
    )
    page.get_by_label("ສະຖານທີ່").first.press_sequentially("ບ້ານ ນາໄຊ")
    page.locator("button.button-add-instance").click()
    page.get_by_label("ສະຖານທີ່").nth(1).wait_for()
    page.get_by_label("ສະຖານທີ່").nth(1).press_sequentially("ກຸງເທບ")
    # The officer may switch the form to English: the labels change, the Lao answers stay.
    page.get_by_role("combobox", name="change language").first.click()
    page.get_by_role("option", name="English (en)").click()
    page.get_by_text("Full name").first.wait_for()
    assert page.get_by_label("Full name").input_value() == "ນາງ ແກ້ວ ມະນີວົງ"
    status = send(page)
    assert page.locator("#webform-status").get_attribute("data-kind") == "done", status
    assert_clean(page)

    (record,) = records(fill_server)
    assert (record.province_code, record.claimed_province) == ("05", None)
    xml, files = current_xml(fill_server, record.id)
    assert "<full_name>ນາງ ແກ້ວ ມະນີວົງ</full_name>" in xml
    assert xml.count("<route>") == 2 and "ບ້ານ ນາໄຊ" in xml and "ກຸງເທບ" in xml
    assert len(files) == 1 and f"<photo>{files[0]}</photo>" in xml
    page.context.close()


def test_a_desk_link_sends_for_its_province_and_a_revoked_one_is_refused(chromium, fill_server):
    context = chromium.new_context(viewport=SIZES["tablet"], base_url=fill_server.url)
    page = context.new_page()
    page.errors = PageErrors()
    page.errors.watch(page)
    page.goto(f"/console/desk/{fill_server.desk}/?lang=lo")
    assert "ໂຕະ ສູນພັກພິງ" in text_of(page.locator("h1"))
    page.locator("ul.fill-forms a[href$='/forms/sample_case']").click()
    wait_for_form(page)
    page.get_by_text("ບໍ່", exact=True).click()  # no consent: the named questions stay hidden
    assert page.get_by_label("ຊື່ ແລະ ນາມສະກຸນ").count() == 0
    page.get_by_text("ນະຄອນຫຼວງວຽງຈັນ (Vientiane Capital)").click()  # province 01: not the desk's
    # The connection drops before Send: the page says so and keeps the answers; back online, Send again works.
    context.set_offline(True)
    assert "ສົ່ງບໍ່ໄດ້" in send(page)
    assert not [r for r in records(fill_server) if r.device_id is not None]  # nothing arrived
    context.set_offline(False)
    status = send(page)
    assert page.locator("#webform-status").get_attribute("data-kind") == "done", status
    assert_clean(page)
    desk_record = records(fill_server)[-1]
    # The same rule as a tablet's: kept in the desk's province 05, the answer kept as its claim.
    assert (desk_record.province_code, desk_record.claimed_province) == ("05", "01")
    assert desk_record.device_id is not None

    refused = page.goto(f"/console/desk/{fill_server.gone}/forms/sample_case")
    assert refused.status == 403
    context.close()

    analyst = open_console(chromium, fill_server, "analyst", lang="en")
    assert analyst.goto(FILL).status == 403
    analyst.context.close()


def test_a_bundled_form_opens_in_lao_with_its_hand_off_list(chromium, fill_server):
    """The bundled follow-up form opens in Lao: its group, its required case code, the hand-off list made for the
    sender (empty here, so its question stays hidden, as in Collect) and the provinces list load without error."""
    page = open_console(chromium, fill_server, "case-officer", lang="lo")
    page.goto("/console/projects/1/forms/followup/fill")
    page.wait_for_selector("#webform[data-ready=true]")
    page.get_by_text("ລະຫັດກໍລະນີ").first.wait_for()
    assert page.locator(".form-load-failure-dialog").count() == 0
    assert page.get_by_role("button", name="Send").count() == 1
    assert_clean(page)
    page.context.close()
