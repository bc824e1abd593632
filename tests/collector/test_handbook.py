"""The handbook endpoint and the `handbook` and `course-kit` commands, on the stored form versions."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from collector.devices import collect_settings, decode_payload, device_url
from forms import BUNDLED_FORMS_DIR
from forms.compiler import compile_xlsform
from ingest.models import AuditEvent, Device
from tests.support.handbook import pdf_text, squash

MANAGER = ("trainer@example.la", "trainer password")
VIEWER = ("viewer@example.la", "viewer password")


@pytest.fixture
def staff(app, db_session):
    """Create a trainer (manager) and a viewer."""
    from ingest.accounts.users import create_user

    create_user(db_session, *MANAGER, "trainer")
    create_user(db_session, *VIEWER, "analyst")
    db_session.commit()


def test_trainer_gets_the_published_version_as_pdf(client, staff, referral):
    response = client.get("/v1/projects/1/forms/referral/handbook.pdf?lang=en", auth=MANAGER)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"referral-{referral.version}-handbook-en.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert squash(f"referral · {referral.version} · md5 {referral.xml_md5}") in text
    assert squash("249 entries in countries.csv; the first 20:") in text  # the CSV came from the stored media
    assert squash("ການສົ່ງຕໍ່") not in text  # English only, as asked


def test_viewer_device_and_anonymous_callers_are_refused(client, staff, referral, db_session):
    from ingest.accounts.users import create_device

    device = create_device(db_session, 1, "Tablet", "05")
    db_session.commit()
    assert client.get("/v1/projects/1/forms/referral/handbook.pdf", auth=VIEWER).status_code == 403
    assert client.get(f"/v1/key/{device.token}/projects/1/forms/referral/handbook.pdf").status_code == 403
    assert client.get("/v1/projects/1/forms/referral/handbook.pdf").status_code == 401


def test_bad_language_unknown_form_and_missing_draft_are_json_errors(client, admin, referral):
    bad = client.get("/v1/projects/1/forms/referral/handbook.pdf?lang=fr", auth=admin)
    assert bad.status_code == 400 and "lang" in bad.get_json()["error"]
    assert client.get("/v1/projects/1/forms/nope/handbook.pdf", auth=admin).status_code == 404
    draft = client.get("/v1/projects/1/forms/referral/handbook.pdf?draft=true", auth=admin)
    assert draft.status_code == 404 and "no draft" in draft.get_json()["error"]


def test_draft_is_printed_and_marked_as_draft(client, admin, referral, app, db_session, compiled_referral):
    from ingest.publishing.versions import create_draft

    create_draft(
        db_session, app.extensions["collector.store"], 1, compiled_referral, new_form=False, xml_form_id="referral"
    )
    db_session.commit()
    response = client.get("/v1/projects/1/forms/referral/handbook.pdf?draft=true&paper=true&lang=en", auth=admin)
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert squash("DRAFT: not yet published, for review only") in text and squash("Case code:") in text


def test_cli_handbook_writes_the_pdf_and_names_the_versions(runner, referral, tmp_path):
    out = tmp_path / "handbook.pdf"
    result = runner.invoke(["handbook", "--form", "referral", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"referral\tversion {referral.version}\tmd5 {referral.xml_md5}\tpublished" in result.output
    assert squash("Referral") in pdf_text(out.read_bytes())
    paper = runner.invoke(["handbook", "--paper", "--form", "referral", "--lang", "en", "-o", str(tmp_path / "p.pdf")])
    assert paper.exit_code == 0, paper.output
    pages = PdfReader(tmp_path / "p.pdf").pages
    assert all(squash("Case code:") in squash(p.extract_text()) for p in pages)
    assert squash("Tick one") in pdf_text((tmp_path / "p.pdf").read_bytes())
    missing = runner.invoke(["handbook", "--form", "nope", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code == 1 and "nope" in missing.output
    no_draft = runner.invoke(["handbook", "--draft", "-o", str(tmp_path / "x.pdf")])
    assert no_draft.exit_code == 1 and "no form has a draft" in no_draft.output


def test_cli_prints_the_draft_with_draft_and_the_published_version_without(app, runner, referral, db_session, tmp_path):
    from openpyxl import load_workbook

    from ingest.publishing.versions import create_draft

    workbook = load_workbook(BUNDLED_FORMS_DIR / "referral.xlsx")
    settings = workbook["settings"]
    column = [c.value for c in settings[1]].index("version") + 1
    settings.cell(row=2, column=column, value="2099010101")
    draft_xlsx = tmp_path / "referral.xlsx"
    workbook.save(draft_xlsx)
    create_draft(
        db_session,
        app.extensions["collector.store"],
        1,
        compile_xlsform(draft_xlsx, validate=False),
        new_form=False,
        xml_form_id="referral",
    )
    db_session.commit()
    result = runner.invoke(["handbook", "--draft", "--form", "referral", "--lang", "en", "-o", str(tmp_path / "d.pdf")])
    assert result.exit_code == 0, result.output
    assert "referral\tversion 2099010101\t" in result.output and result.output.split("\n")[0].endswith("\tdraft")
    text = pdf_text((tmp_path / "d.pdf").read_bytes())
    assert squash("DRAFT: not yet published, for review only") in text and squash("referral · 2099010101 ·") in text
    result = runner.invoke(["handbook", "--form", "referral", "--lang", "en", "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 0 and f"version {referral.version}\t" in result.output
    text = pdf_text((tmp_path / "p.pdf").read_bytes())
    assert squash("DRAFT") not in text and squash(f"referral · {referral.version} ·") in text


def decode_qr_pages(pdf_path, first: int, last: int) -> list[str]:
    """Rasterise pages with pdftoppm and read each page's QR code with zbarimg, as a phone camera would."""
    for tool in ("pdftoppm", "zbarimg"):
        assert shutil.which(tool), f"{tool} is missing: `make test` installs poppler-utils and zbar-tools"
    stem = pdf_path.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", str(first), "-l", str(last), str(pdf_path), str(stem)], check=True
    )
    payloads = []
    for image in sorted(pdf_path.parent.glob(f"{stem.name}-*.png")):
        out = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True).stdout
        payloads.append(next(line for line in out.splitlines() if re.fullmatch(r"[A-Za-z0-9+/=]{40,}", line)))
    return payloads


def test_course_kit_creates_devices_and_prints_a_scannable_code_for_each(app, runner, referral, tmp_path, db_session):
    out = tmp_path / "kit.pdf"
    result = runner.invoke(
        ["course-kit", "--province", "05", "--devices", "2", "--form", "referral", "--lang", "en", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    devices = list(db_session.scalars(select(Device).order_by(Device.id)))
    assert [d.province_code for d in devices] == ["05", "05"]
    assert all([f.xml_form_id for f in d.forms] == ["referral"] for d in devices)
    assert len(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "device.create")).all()) == 2
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    # A4 throughout (595 x 842 points), so a provincial office can print it on any printer.
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages} == {(595, 842)}
    cover = squash(pages[0].extract_text())
    assert squash("Training course kit") in cover and squash("Bokeo") in cover
    # The handbook of the course's form sits between the cover and the tablets' pages.
    handbook = squash("".join(p.extract_text() for p in pages[1:-2]))
    assert squash("form_id referral") in handbook and squash("Receiving organisation") in handbook
    assert squash("249 entries in countries.csv; the first 20:") in handbook
    # One page per tablet, and only those pages carry a code.
    scan = squash("In ODK Collect: Configure with QR code, then scan this code.")
    assert [scan in squash(p.extract_text()) for p in pages].count(True) == 2
    tablet_pages = [squash(p.extract_text()) for p in pages[-2:]]
    assert [squash(d.display_name) in page and scan in page for d, page in zip(devices, tablet_pages)] == [True, True]
    payloads = decode_qr_pages(out, len(pages) - 1, len(pages))
    with app.app_context():
        expected = [
            collect_settings(device_url(app.config["PUBLIC_URL"], d), app.config["PROJECT_NAME"]) for d in devices
        ]
    assert [decode_payload(p) for p in payloads] == expected


def test_course_kit_refuses_a_bad_province_and_creates_nothing(runner, referral, tmp_path, db_session):
    for province in ("5", "99"):
        result = runner.invoke(["course-kit", "--province", province, "--devices", "2", "-o", str(tmp_path / "k.pdf")])
        assert result.exit_code == 1 and "two-digit province code" in result.output
    assert db_session.scalars(select(Device)).all() == []


def test_form_json_links_to_the_handbook_of_the_current_version(client, admin, published_form):
    body = client.get("/v1/projects/1/forms/sample_case", auth=admin).get_json()
    assert body["handbookUrl"] == "http://localhost/v1/projects/1/forms/sample_case/handbook.pdf"


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_course_kit_a5_names_tablets_in_lao_and_english_with_emblem_course_and_edition(
    runner, referral, tmp_path, db_session
):
    from datetime import date

    emblem = tmp_path / "emblem.png"
    emblem.write_bytes(PNG)
    out = tmp_path / "kit.pdf"
    result = runner.invoke(
        [
            "course-kit",
            "--province",
            "05",
            "--devices",
            "2",
            "--form",
            "referral",
            "--paper-size",
            "a5",
            "--emblem",
            str(emblem),
            "--edition",
            "2026.2",
            "--edition-date",
            "2026-11-30",
            "--course",
            "Bokeo, December",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    devices = list(db_session.scalars(select(Device).order_by(Device.id)))
    pages = PdfReader(io.BytesIO(out.read_bytes())).pages
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages} == {(420, 595)}
    cover = squash(pages[0].extract_text())
    for words in (
        "Ministry of Public Security",
        "ກົມຕ້ານການຄ້າມະນຸດ",
        "Course: Bokeo, December",
        "Guideline version2026.2",
        "Date of the guidelines2026-11-30",
    ):
        assert squash(words) in cover, words
    assert len(pages[0].images) == 1
    today = date.today().isoformat()
    sheet = squash("".join(p.extract_text() for p in pages[1:3]))
    for n, device in enumerate(devices, start=1):
        assert device.display_name == f"Course {today} tablet 05-{n:02d}"
        lao = f"ຫຼັກສູດ {today} ແທັບເລັດ 05-{n:02d}"
        assert squash(f"{n}{device.id}{lao}{device.display_name}05ບໍ່ແກ້ວBokeo") in sheet
    tablet_pages = [squash(p.extract_text()) for p in pages[-2:]]
    for n, (device, page) in enumerate(zip(devices, tablet_pages), start=1):
        assert squash(f"ຫຼັກສູດ {today} ແທັບເລັດ 05-{n:02d}") in page and squash(device.display_name) in page
        assert squash(f"ລະຫັດ / Code: {device.id}") in page


def test_an_emblem_that_is_not_an_image_stops_the_commands_and_creates_nothing(runner, referral, tmp_path, db_session):
    bad = tmp_path / "emblem.png"
    bad.write_text("not an image")
    kit = runner.invoke(
        ["course-kit", "--province", "05", "--devices", "2", "--emblem", str(bad), "-o", str(tmp_path / "k.pdf")]
    )
    assert kit.exit_code == 1 and "not a PNG or JPEG image" in kit.output
    assert db_session.scalars(select(Device)).all() == [] and not (tmp_path / "k.pdf").exists()
    book = runner.invoke(["handbook", "--emblem", str(tmp_path / "missing.png"), "-o", str(tmp_path / "h.pdf")])
    assert book.exit_code == 1 and "cannot be read" in book.output


def test_api_prints_a5_and_a_paper_form_with_a_cover_only_when_asked(app, client, staff, referral, tmp_path):
    url = "/v1/projects/1/forms/referral/handbook.pdf"
    a5 = client.get(url + "?paper=true&paper_size=a5&lang=en", auth=MANAGER)
    assert a5.status_code == 200 and "-a5.pdf" in a5.headers["Content-Disposition"]
    pages = PdfReader(io.BytesIO(a5.data)).pages
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages} == {(420, 595)}
    assert squash("Contents") not in pdf_text(a5.data)
    covered = client.get(url + "?paper=true&cover=true&lang=en", auth=MANAGER)
    assert squash("Contents") in pdf_text(covered.data) and squash("Ministry of Public Security") in pdf_text(
        covered.data
    )
    assert client.get(url + "?paper_size=letter", auth=MANAGER).status_code == 400
    bad = tmp_path / "emblem.png"
    bad.write_text("not an image")
    app.config["HANDBOOK_EMBLEM"] = str(bad)
    try:
        assert client.get(url, auth=MANAGER).status_code == 500
        app.config["HANDBOOK_EMBLEM"] = str(tmp_path / "good.png")
        (tmp_path / "good.png").write_bytes(PNG)
        app.config["HANDBOOK_EDITION"] = "2026.3"
        good = client.get(url + "?lang=en", auth=MANAGER)
        assert good.status_code == 200 and len(PdfReader(io.BytesIO(good.data)).pages[0].images) == 1
        assert squash("Guideline version 2026.3") in pdf_text(good.data)
    finally:
        app.config["HANDBOOK_EMBLEM"] = None
        app.config["HANDBOOK_EDITION"] = ""
