"""Issue 21 items 3-6 on the printed page: every rule in words, layout, covers and the course kit.

The proof that no raw expression reaches paper reads the PDFs with pdftotext, as a trainer's copy would be.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from forms import BUNDLED_FORMS_DIR
from forms.handbook.expressions import translate
from forms.handbook.model import FormSource, build_book
from forms.handbook.regexwords import describe
from forms.handbook.render import EmblemError, Identity, Tablet, emblem_uri, render_html, write_pdf
from tests.support.handbook import MEDIA, squash, xlsform

HTCDS_STYLE = Path(__file__).parent.parent / "data" / "htcds_style.xlsx"
FORMS = sorted(BUNDLED_FORMS_DIR.glob("*.xlsx")) + [HTCDS_STYLE]
#: Spreadsheet column -> the attribute of the printed question (or calculation) that says it in words.
RULES = {
    "relevant": "relevant",
    "constraint": "constraint",
    "calculation": "calculation",
    "choice_filter": "choice_filter",
    "trigger": "trigger",
}
RAW = ("regex(", "${", "selected(", "jr:choice-name(")


def pdftotext(pdf: bytes) -> str:
    """Return the text of a PDF as poppler's pdftotext reads it (-raw: in the order it was laid out)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: make system-deps-test")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout


def nodes(children):
    for node in children:
        yield node
        yield from nodes(getattr(node, "children", []))


def expressions(path: Path) -> list[tuple[str, str, str]]:
    """Every (field name, column, expression) of an XLSForm's survey sheet."""
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook["survey"].iter_rows(values_only=True))
    workbook.close()
    out = []
    for row in rows[1:]:
        record = dict(zip(rows[0], row))
        for column in RULES:
            if record.get(column):
                out.append((record["name"], column, str(record[column])))
    return out


@pytest.fixture(scope="module")
def books():
    return {path.stem: build_book(FormSource(path.read_bytes(), media=MEDIA)) for path in FORMS}


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_every_expression_of_the_form_is_said_in_words_in_both_languages(books, path):
    printed = {n.name: n for n in nodes(books[path.stem].children)}
    found = expressions(path)
    assert len(found) > 5
    for name, column, source in found:
        said = getattr(printed[name], RULES[column])
        assert said is not None, (name, column)
        assert said.exact and not said.notes, (name, column, source, said.text)
        for lang in ("lo", "en"):
            assert not any(raw in said.text[lang] for raw in RAW + ("today()", "instance(")), (name, said.text)
        assert said.text["lo"] != said.text["en"]


def test_the_bundled_forms_use_every_kind_of_rule():
    kinds = {column for path in FORMS[:-1] for _name, column, _source in expressions(path)}
    assert kinds == set(RULES)
    sources = [source for path in FORMS for _n, _c, source in expressions(path)]
    assert sum("regex(" in s for s in sources) >= 5 and any("jr:choice-name(" in s for s in sources)


def test_a_regular_expression_is_said_by_what_it_accepts():
    said = describe("^[0-9]{2}-[0-9a-fA-F]{8}$")
    assert said["en"] == "is two digits, a dash (-), then eight letters or digits from 0-9 and a-f"
    assert said["lo"] == "ເປັນ ຕົວເລກ 2 ຕົວ, ຂີດ (-), ແລ້ວ ຕົວອັກສອນ ຫຼື ຕົວເລກ 8 ຕົວ ຈາກ 0-9 ແລະ a-f"
    assert (
        describe(r"^\+?[1-9][0-9]{1,14}$")["en"]
        == "is an optional plus sign (+), a digit from 1-9, then one to fourteen digits"
    )
    assert describe("^[A-Z]{2}")["en"] == "starts with two capital letters"
    assert describe("[a-z]+$")["en"] == "ends with at least one small letter"
    assert describe("^(P|ID)[0-9]{6,9}$")["en"] == "is “P” or “ID”, then six to nine digits"
    for unsaid in ("^(a|b)+$", "^[^0-9]$", r"^\s+$", "^a*?$", "^[a-z"):
        assert describe(unsaid) is None, unsaid


def test_what_no_sentence_fits_is_quoted_in_a_numbered_footnote(books):
    fields = {}
    said = translate("regex(., '^(a|b)+$') and string-length(.) > 2", fields.get, frame="accept_if")
    assert said.text["en"] == (
        "Accepted only if the answer has the form in note 1 and the number of characters in the answer is more than 2."
    )
    assert said.text["lo"].startswith("ຮັບສະເພາະເມື່ອ ຄຳຕອບ ມີຮູບແບບຕາມໝາຍເຫດ 1")
    assert said.notes == [(1, "^(a|b)+$")] and not said.exact
    odd = translate("pulldata('x', 'y', 'z', ${a}) > 1", fields.get, frame="ask_if")
    assert odd.text["en"] == "Ask only if the value in note 1 is more than 1."
    assert odd.notes == [(1, "pulldata('x', 'y', 'z', ${a})")]
    data = xlsform(
        [
            ["type", "name", "label::English (en)", "label::Lao (lo)", "constraint"],
            ["text", "code", "Code", "ລະຫັດ", "regex(., '^(a|b)+$')"],
        ],
        settings=[["form_id", "version"], ["odd", "1"]],
    )
    text = squash(pdftotext(write_pdf(render_html([build_book(FormSource(data))], lang="both"))))
    assert squash("Accepted only if the answer has the form in note 1.") in text
    assert squash("1. ^(a|b)+$") in text


@pytest.fixture(scope="module")
def printed(books):
    """The handbook and the paper forms of every bundled form (and the HTCDS-style one), as pdftotext reads them."""
    every = list(books.values())
    handbook = write_pdf(render_html(every, lang="both"))
    paper = write_pdf(render_html(every, lang="both", paper=True))
    return {"handbook": handbook, "paper": paper}


@pytest.mark.parametrize("what", ["handbook", "paper"])
def test_no_raw_expression_is_printed(printed, what):
    text = pdftotext(printed[what])
    assert len(text) > 20000
    assert [raw for raw in RAW if raw in text] == []
    assert "two digits, a dash (-), then eight letters or digits from 0-9 and a-f" in re.sub(r"\s+", " ", text)


def test_a_heading_is_never_left_alone_at_the_foot_of_a_page(books, printed):
    pages = [squash(p.extract_text()) for p in PdfReader(io.BytesIO(printed["handbook"])).pages]
    checked = 0
    for book in books.values():
        for section in book.sections:
            first = next((c for c in section.children if c.kind != "section"), None)
            if first is None or first is not section.children[0] or not first.label.get("en"):
                continue
            heading = squash(f"{section.number}. {section.label['lo']} / {section.label['en']}")
            # the page of the heading itself, not of its line in the contents (which ends in leader dots)
            on = [i for i, page in enumerate(pages) if heading in page.replace(heading + "..", "")]
            assert on, heading
            assert squash(first.label["en"]) in pages[on[0]], (book.form_id, section.number)
            checked += 1
    assert checked > 15


def test_one_paper_form_is_compact_and_numbered_page_n_of_m_in_both_languages(books):
    pdf = write_pdf(render_html([books["referral"]], paper=True))
    pages = PdfReader(io.BytesIO(pdf)).pages
    first = squash(pages[0].extract_text())
    assert squash("Contents") not in first and squash("Ministry of Public Security") not in first
    assert squash("ການສົ່ງຕໍ່ / Referral") in first  # the form starts on page 1
    for n, page in enumerate(pages, start=1):
        text = squash(page.extract_text())
        assert squash(f"ໜ້າ {n} ຈາກ {len(pages)} / Page {n} of {len(pages)}") in text
    asked = squash(pdftotext(write_pdf(render_html([books["referral"]], paper=True, cover=True))))
    assert squash("Contents") in asked and squash("Ministry of Public Security") in asked
    english = squash(
        PdfReader(io.BytesIO(write_pdf(render_html([books["referral"]], lang="en", paper=True))))
        .pages[0]
        .extract_text()
    )
    assert squash("Page 1 of") in english and "ໜ້າ" not in english


def test_a_long_choice_name_never_pushes_its_label_under_the_name_column():
    long_lao = "ຂໍ້ມູນທີ່ບໍ່ລະບຸຕົວບຸກຄົນສຳລັບການຄົ້ນຄວ້າແລະສະຖິຕິແຫ່ງຊາດເທົ່ານັ້ນແລະບໍ່ແບ່ງປັນໃຫ້ຜູ້ອື່ນໃດໆທັງສິ້ນ"
    data = xlsform(
        [["type", "name", "label::English (en)", "label::Lao (lo)"], ["select_one use", "use", "Use", "ການນຳໃຊ້"]],
        [
            ["list_name", "name", "label::English (en)", "label::Lao (lo)"],
            ["use", "anonymised_research_and_national_statistics", "Anonymised research", long_lao],
        ],
        [["form_id", "version"], ["long", "1"]],
    )
    pdf = write_pdf(render_html([build_book(FormSource(data))], lang="both", cover=False))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: make system-deps-test")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        boxes = subprocess.run(
            ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
    words = [
        (float(x0), float(y0), float(x1), word)
        for x0, y0, x1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', boxes
        )
    ]
    # The choice's row: from the first piece of its name down; the name wraps inside its own column.
    top = min(y0 for _x0, y0, _x1, word in words if word.startswith("anonymised"))
    code = [w for w in words if w[1] >= top - 1 and re.fullmatch(r"[a-z_]+", w[3]) and w[0] < 200]
    lao = [w for w in words if w[1] >= top - 1 and re.search("[\u0e80-\u0eff]", w[3])]
    assert len(code) >= 2 and len(lao) > 3  # both wrapped
    right_of_code = max(x1 for _x0, _y0, x1, _w in code)
    assert all(x0 >= right_of_code for x0, _y0, _x1, _w in lao), (right_of_code, lao)


def test_a5_is_a_field_booklet_and_a4_the_default(books):
    a5 = PdfReader(io.BytesIO(write_pdf(render_html([books["referral"]], paper=True, paper_size="a5")))).pages
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in a5} == {(420, 595)}
    a4 = PdfReader(io.BytesIO(write_pdf(render_html([books["referral"]], paper=True)))).pages
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in a4} == {(595, 842)}
    assert len(a5) > len(a4)
    with pytest.raises(ValueError):
        render_html([books["referral"]], paper_size="letter")


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_cover_names_ministry_department_centre_edition_and_emblem_and_the_back_page_keeps_the_hashes(books, tmp_path):
    emblem = tmp_path / "emblem.png"
    emblem.write_bytes(PNG)
    identity = Identity(edition="2026.1", edition_date="2026-12-01", emblem=emblem_uri(emblem))
    every = [books["referral"], books["followup"]]
    pdf = write_pdf(render_html(every, identity=identity))
    pages = PdfReader(io.BytesIO(pdf)).pages
    cover = squash(pages[0].extract_text())
    for words in (
        "ກະຊວງປ້ອງກັນຄວາມສະຫງົບ",
        "Ministry of Public Security",
        "ກົມຕ້ານການຄ້າມະນຸດ",
        "Anti-Human Trafficking Department",
        "ສູນຖານຂໍ້ມູນການຄ້າມະນຸດແຫ່ງຊາດ",
        "National Trafficking Database Centre",
        "ສະບັບຂອງຄູ່ມື / Guideline version2026.1",
        "Date of the guidelines2026-12-01",
    ):
        assert squash(words) in cover, words
    assert "md5" not in cover
    assert len(pages[0].images) == 1  # the emblem
    back = squash(pages[-1].extract_text())
    assert squash("ແບບຟອມໃນເອກະສານນີ້ / Forms in this document") in back
    for book in every:
        assert book.xml_md5 in back and book.version in back
    # Without an emblem or a named edition: no image, the newest form version and the date printed.
    plain = PdfReader(io.BytesIO(write_pdf(render_html(every)))).pages[0]
    assert len(plain.images) == 0
    assert squash(max(b.version for b in every)) in squash(plain.extract_text())


@pytest.mark.parametrize("content, why", [(b"GIF89a....", "not a PNG or JPEG"), (PNG * 200_000, "larger than")])
def test_an_emblem_that_is_not_a_small_png_or_jpeg_is_refused(tmp_path, content, why):
    path = tmp_path / "emblem"
    path.write_bytes(content[: 3 * 1024 * 1024])
    with pytest.raises(EmblemError, match=why):
        emblem_uri(path)
    with pytest.raises(EmblemError, match="cannot be read"):
        emblem_uri(tmp_path / "missing.png")
    assert emblem_uri(None) is None


def test_kit_names_each_tablet_in_lao_and_english_and_its_sheet_lists_them_all(books):
    tablets = [
        Tablet(f"Course 2026-12-06 tablet 05-{n:02d}", "x" * 200, f"ຫຼັກສູດ 2026-12-06 ແທັບເລັດ 05-{n:02d}", str(40 + n))
        for n in (1, 2, 3)
    ]
    pdf = write_pdf(
        render_html([books["referral"]], tablets=tablets, province="05", identity=Identity(course="Bokeo, December"))
    )
    pages = [squash(p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert squash("ຫຼັກສູດ / Course: Bokeo, December") in pages[0]
    sheet = pages[1]
    assert squash("ແທັບເລັດຂອງຫຼັກສູດ / Tablets of the course") in sheet
    for n, tablet in enumerate(tablets, start=1):
        assert squash(f"{n}{tablet.code}{tablet.name_lo}{tablet.name}05ບໍ່ແກ້ວBokeo") in sheet
    scan = [p for p in pages if squash("Configure with QR code") in p]
    assert len(scan) == 3
    for tablet, page in zip(tablets, scan):
        assert squash(tablet.name_lo) in page and squash(tablet.name) in page
        assert squash(f"ລະຫັດ / Code: {tablet.code}") in page
