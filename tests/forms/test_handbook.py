"""Handbooks and paper forms rendered to PDF: every label, choice and skip-logic sentence is in the text."""

from __future__ import annotations

import io
import re

import pytest
from markupsafe import escape
from openpyxl import load_workbook
from pypdf import PdfReader

from forms import BUNDLED_FORMS_DIR, BUNDLED_MEDIA_DIR
from forms.handbook.model import CSV_PREVIEW, FormSource, build_book
from forms.handbook.render import handbook_pdf, render_html, write_pdf
from forms.lao import strip_marks
from tests.support.handbook import MEDIA, pdf_text, squash, xlsform

BUNDLED = sorted(BUNDLED_FORMS_DIR.glob("*.xlsx"))
HIDDEN = {
    "calculate",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "begin_group",
    "end_group",
    "begin group",
    "end group",
    "begin_repeat",
    "end_repeat",
    "begin repeat",
    "end repeat",
}


def sheet_rows(path, title: str) -> list[dict]:
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook[title].iter_rows(values_only=True))
    workbook.close()
    return [dict(zip(rows[0], row)) for row in rows[1:] if any(row)]


def skip_sentences(nodes):
    for node in nodes:
        if node.relevant:
            yield node.relevant
        yield from skip_sentences(getattr(node, "children", []))


@pytest.fixture(scope="session")
def bundled_books():
    """Read the five bundled forms once."""
    return {path.stem: build_book(FormSource(path.read_bytes(), media=MEDIA)) for path in BUNDLED}


@pytest.fixture(scope="session")
def bundled_text(bundled_books):
    """Render the five bundled forms, Lao and English side by side, into one PDF, once."""
    pdf = write_pdf(render_html(list(bundled_books.values()), lang="both"))
    return pdf, pdf_text(pdf)


def questions(nodes):
    """Yield every question and note of a book's tree, in order (not the calculations the tablet works out)."""
    for node in nodes:
        if node.kind == "section":
            yield from questions(node.children)
        elif node.kind != "calc":
            yield node


def test_bundled_handbook_has_every_label_in_lao_and_english(bundled_books, bundled_text):
    _pdf, text = bundled_text
    missing, filled = [], 0
    for path in BUNDLED:
        printed = {q.name: q for q in questions(bundled_books[path.stem].children)}
        for row in sheet_rows(path, "survey"):
            if str(row["type"]).strip() in HIDDEN:
                continue
            for column in (
                "label::Lao (lo)",
                "label::English (en)",
                "hint::Lao (lo)",
                "hint::English (en)",
                "constraint_message::Lao (lo)",
                "constraint_message::English (en)",
            ):
                value = row.get(column)
                if value and "${" in value:
                    # A reference prints as the field's label: check the filled text, and that it was filled.
                    kind, lang = column.split("::")[0], column[-3:-1]
                    value = {
                        "label": printed[row["name"]].label,
                        "hint": printed[row["name"]].hint,
                        "constraint_message": printed[row["name"]].constraint_message,
                    }[kind][lang]
                    assert "${" not in value, (path.stem, row["name"], column)
                    filled += 1
                if value and squash(value) not in text:
                    missing.append((path.stem, row["name"], column))
    assert missing == [] and filled > 10
    assert (
        squash(
            "The numbers in this section must add up to the total ([Victims identified this month (actual and "
            "possible)])."
        )
        in text
    )


def test_bundled_handbook_has_titles_sections_and_numbered_questions_in_order(bundled_books, bundled_text):
    _pdf, text = bundled_text
    for path in BUNDLED:
        book = bundled_books[path.stem]
        assert squash(f"{book.title['lo']} / {book.title['en']}") in text
        # Every group of the XLSForm is a numbered section with its label in both languages.
        groups = [
            r
            for r in sheet_rows(path, "survey")
            if str(r["type"]).strip().replace("_", " ") in ("begin group", "begin repeat")
            and r.get("label::English (en)")
        ]
        assert len(book.sections) == len(groups) > 0
        for section, row in zip(book.sections, groups):
            assert squash(f"{section.number}. {row['label::Lao (lo)']} / {row['label::English (en)']}") in text
        # Every question carries its number, in order, with its type and whether it is required.
        required = {
            r["name"]: str(r.get("required") or "").strip().lower() == "yes" for r in sheet_rows(path, "survey")
        }
        numbered = [q for q in questions(book.children) if q.kind == "question"]
        assert [q.number for q in numbered] == list(range(1, len(numbered) + 1))
        position = text.index(squash(f"form_id {book.form_id}"))  # the form's own heading table
        for q in numbered:
            assert q.required is required[q.name], (book.form_id, q.name)
            heading = squash(f"{q.number} {q.name}")
            position = text.index(heading, position)  # raises when missing or out of order
            state = ("Required", "ຈຳເປັນຕ້ອງຕອບ") if q.required else ("Optional", "ບໍ່ບັງຄັບ")
            assert squash(f"Type: {q.type_text['en']} · {state[0]}") in text
            assert squash(f"ປະເພດ: {q.type_text['lo']} · {state[1]}") in text


def test_bundled_handbook_has_every_choice_in_both_languages(bundled_text):
    _pdf, text = bundled_text
    missing = [
        (path.stem, row["list_name"], row["name"], column)
        for path in BUNDLED
        for row in sheet_rows(path, "choices")
        for column in ("label::Lao (lo)", "label::English (en)", "name")
        if squash(str(row[column])) not in text
    ]
    assert missing == []


def test_bundled_handbook_has_every_skip_logic_sentence(bundled_books, bundled_text):
    _pdf, text = bundled_text
    sentences = [t for book in bundled_books.values() for t in skip_sentences(book.children)]
    assert len(sentences) > 40
    missing = [t.text[lang] for t in sentences for lang in ("lo", "en") if squash(t.text[lang]) not in text]
    assert missing == []
    assert squash("Ask only if “Type of place” is “Other”.") in text
    assert (
        squash(
            "Ask this section only if “Does the person consent to the screening and to the recording of "
            "the answers?” is “Yes”."
        )
        in text
    )
    targets = [
        s.skip_to[lang] for book in bundled_books.values() for s in book.sections if s.relevant for lang in ("lo", "en")
    ]
    assert targets and all(squash(t) in text for t in targets)
    assert squash("If not, skip to section 5.") in text and squash("ຖ້າບໍ່, ໃຫ້ຂ້າມໄປພາກ 5.") in text


def test_bundled_handbook_states_version_hash_purpose_and_plain_types(bundled_books, bundled_text):
    pdf, text = bundled_text
    for book in bundled_books.values():
        assert squash(f"{book.form_id}·{book.version}·md5{book.xml_md5}") in text
        assert squash(book.purpose["en"]) in text and squash(book.purpose["lo"]) in text
    for words in (
        "Type: choose one",
        "Type: choose any",
        "Type: a date not after today",
        "Type: a whole number from 0 to 110",
        "ປະເພດ: ເລືອກຄຳຕອບດຽວ",
        "Contents",
        "ໜ້າ 1 ຈາກ",
        "Page 1 of",
    ):
        assert squash(words) in text
    fonts = {
        str(f["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for f in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("Phetsarath" in name or "NotoSansLao" in name for name in fonts), (
        f"No Lao font was embedded (only {sorted(fonts)}): install fonts-lao or fonts-noto-core (make system-deps)"
    )


def test_sensitive_fields_carry_a_mark_and_a_handling_reminder(bundled_books, bundled_text):
    _pdf, text = bundled_text
    reminder = squash("Identifies a person: ask in private, write it only here, never in notes, messages or photos.")
    sensitive = sum(1 for p in BUNDLED for r in sheet_rows(p, "survey") if str(r.get("sensitive") or "") == "yes")
    assert sensitive > 10
    assert text.count(reminder) == sensitive
    assert text.count(squash("⚠ ຂໍ້ມູນອ່ອນໄຫວ / Sensitive")) == sensitive


def test_repeats_are_marked_repeat_for_each(bundled_text):
    _pdf, text = bundled_text
    assert text.count(squash("Repeat for each:")) == 3


def test_csv_choice_list_shows_the_file_its_first_twenty_entries_and_a_count(bundled_text):
    _pdf, text = bundled_text
    assert squash("249 entries in countries.csv; the first 20:") in text
    assert squash("18 entries in provinces.csv; the first 18:") in text
    countries = (BUNDLED_MEDIA_DIR / "countries.csv").read_text().splitlines()[1:]
    shown, hidden = countries[:CSV_PREVIEW], countries[CSV_PREVIEW:]
    assert all(squash(line.split(",")[3]) in text for line in shown)
    assert squash(hidden[5].split(",")[3]) not in text  # "Bosnia and Herzegovina"-like: past the first 20


def test_paper_form_has_boxes_and_case_code_and_date_on_every_page():
    pdf = handbook_pdf([FormSource((BUNDLED_FORMS_DIR / "screening.xlsx").read_bytes(), media=MEDIA)], paper=True)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 3
    for page in pages:
        text = squash(page.extract_text())
        assert squash("ລະຫັດກໍລະນີ / Case code:") in text and squash("ວັນທີ / Date:") in text
    text = pdf_text(pdf)
    assert squash("Tick one") in text and squash("Tick any") in text
    assert squash("Write the code from list A at the end of this form (provinces.csv)") in text


def test_a_section_not_asked_says_where_to_skip_to():
    yes = "${consent} = 'y'"
    data = xlsform(
        [
            ["type", "name", "label::English (en)", "label::Lao (lo)", "relevant"],
            ["select_one yn", "consent", "Consent?", "ຍິນຍອມບໍ?", ""],
            ["begin_group", "a", "A", "ກ", yes],
            ["text", "a1", "A1", "ກ1", ""],
            ["begin_group", "a_inner", "Inner", "ໃນ", "${a1} != ''"],
            ["text", "a2", "A2", "ກ2", ""],
            ["end_group", "", "", "", ""],
            ["end_group", "", "", "", ""],
            ["begin_group", "b", "B", "ຂ", yes],
            ["text", "b1", "B1", "ຂ1", ""],
            ["end_group", "", "", "", ""],
            ["note", "b_note", "Thanks", "ຂອບໃຈ", yes],
            ["begin_group", "c", "C", "ຄ", ""],
            ["text", "c1", "C1", "ຄ1", ""],
            ["end_group", "", "", "", ""],
            ["begin_group", "d", "D", "ງ", "${c1} != ''"],
            ["text", "d1", "D1", "ງ1", ""],
            ["end_group", "", "", "", ""],
            ["text", "last", "Last", "ສຸດທ້າຍ", ""],
            ["begin_group", "e", "E", "ຈ", "${last} != ''"],
            ["text", "e1", "E1", "ຈ1", ""],
            ["end_group", "", "", "", ""],
        ],
        [
            ["list_name", "name", "label::English (en)", "label::Lao (lo)"],
            ["yn", "y", "Yes", "ແມ່ນ"],
            ["yn", "n", "No", "ບໍ່"],
        ],
        [["form_id", "version"], ["skips", "1"]],
    )
    book = build_book(FormSource(data))
    targets = {s.name: s.skip_to.get("en") for s in book.sections}
    assert targets == {
        "a": "If not, skip to section 3.",  # B has the same condition, the note needs no answer: C is next
        "a_inner": "If not, skip to the end of section 1.",
        "b": "If not, skip to section 3.",
        "c": None,
        "d": f"If not, skip to question {book.question_count - 1}.",
        "e": "If not, skip to the end of the form.",
    }
    assert book.sections[0].skip_to["lo"] == "ຖ້າບໍ່, ໃຫ້ຂ້າມໄປພາກ 3."
    html = render_html([book], paper=True)
    assert "If not, skip to section 3." in html and "If not, skip to the end of section 1." in html


@pytest.mark.parametrize("lang, other", [("lo", "en"), ("en", "lo")])
def test_bundled_forms_in_one_language_carry_only_that_language(bundled_books, lang, other):
    html = strip_marks(render_html(list(bundled_books.values()), lang=lang))
    assert f'lang="{other}"' not in html
    column = {"lo": "label::Lao (lo)", "en": "label::English (en)"}[lang]
    for path in BUNDLED:
        printed = {q.name: q for q in questions(bundled_books[path.stem].children)}
        for row in sheet_rows(path, "survey"):
            if row["name"] in printed:
                assert str(escape(printed[row["name"]].label[lang])) in html, (path.stem, row["name"])
                assert printed[row["name"]].label[lang] == row[column] or "${" in row[column]
        for row in sheet_rows(path, "choices"):
            assert str(escape(row[column])) in html


def test_paper_form_gives_every_question_a_box_and_every_choice_a_tick_box(bundled_books):
    book = bundled_books["case_intake"]
    html = render_html([book], paper=True)
    asked = [q for q in questions(book.children) if q.kind == "question"]
    one = sum(len(q.choices) for q in asked if q.type == "select one")
    many = sum(len(q.choices) for q in asked if q.type == "select all that apply")
    assert one > 20 and many > 10
    assert html.count('<span class="circle"></span>') == one  # tick one: round boxes
    assert html.count('<span class="box"></span>') == many  # tick any: square boxes
    written = [q for q in asked if not q.choices]
    assert html.count('<div class="answer') + html.count('<div class="datebox">') == len(written)
    assert html.count('<div class="datebox">') == sum(1 for q in written if q.type == "date") > 0
    # Sensitive questions keep their mark and reminder on paper too, where a written name is easiest to lose.
    sensitive = sum(1 for q in asked if q.sensitive)
    assert sensitive > 5 and html.count("⚠ Sensitive: Identifies a person: ask in private") == sensitive


@pytest.mark.parametrize(
    "kind, constraint, words",
    [
        ("date", ". <= today()", "a date not after today"),
        ("date", "today() >= . and . >= date('2000-01-01')", "a date not after today"),
        ("date", ". < today()", "a date before today"),
        ("date", ". >= today()", "a date not before today"),
        ("date", "today() < .", "a date after today"),
        ("date", "", "a date"),
        ("date", ". > ${other}", "a date"),
        ("integer", ". >= 0 and . <= 110", "a whole number from 0 to 110"),
        ("integer", "110 >= . and 0 <= .", "a whole number from 0 to 110"),
        ("integer", ". >= 0", "a whole number"),
        ("select_one yn", "", "choose one"),
        ("select_multiple yn", "", "choose any"),
    ],
)
def test_type_is_said_in_plain_words_with_the_bounds_its_constraint_sets(kind, constraint, words):
    data = xlsform(
        [
            ["type", "name", "label::English (en)", "constraint"],
            ["date", "other", "Other", ""],
            [kind, "q", "Q", constraint],
        ],
        [["list_name", "name", "label::English (en)"], ["yn", "y", "Yes"], ["yn", "n", "No"]],
        [["form_id", "version"], ["types", "1"]],
    )
    [question] = [q for q in build_book(FormSource(data)).children if q.name == "q"]
    assert question.type_text["en"] == words
    assert question.type_text["lo"]


def test_a_csv_list_missing_from_the_version_is_said_so():
    data = xlsform(
        [["type", "name", "label::English (en)"], ["select_one_from_file villages.csv", "v", "Village"]],
        settings=[["form_id", "version"], ["villages", "1"]],
    )
    [question] = build_book(FormSource(data)).children
    assert question.choice_file.missing and question.type_text["en"] == "choose one from the list in villages.csv"
    assert "The list villages.csv was not uploaded with this version." in render_html([build_book(FormSource(data))])
    rows = "name,label\n" + "".join(f"v{i},Village {i}\n" for i in range(25))
    with_file = FormSource(data, media={"villages.csv": rows.encode()})
    [question] = build_book(with_file).children
    assert (question.choice_file.count, len(question.choice_file.entries)) == (25, CSV_PREVIEW)
    assert question.choice_file.entries[0] == {
        "name": "v0",
        "group": "",
        "label": {"lo": "Village 0", "en": "Village 0"},
    }


def test_lao_only_form_is_printed_in_lao_with_a_note():
    data = xlsform(
        [
            ["type", "name", "label", "relevant"],
            ["select_one yn", "agreed", "ຕົກລົງບໍ?", ""],
            ["text", "why", "ເປັນຫຍັງ?", "${agreed} = 'n'"],
        ],
        [["list_name", "name", "label"], ["yn", "y", "ແມ່ນ"], ["yn", "n", "ບໍ່"]],
        [["form_id", "form_title", "version", "default_language"], ["lao_only", "ແບບຟອມລາວ", "1", "Lao (lo)"]],
    )
    book = build_book(FormSource(data))
    assert book.languages == ["lo"]
    text = pdf_text(handbook_pdf([FormSource(data)], lang="both"))
    assert squash("This form has no English labels: its questions are shown in Lao only.") in text
    assert squash("ຖາມສະເພາະເມື່ອ “ຕົກລົງບໍ?” ແມ່ນ “ບໍ່”.") in text
    assert squash("ເປັນຫຍັງ?") in text
    # Asked for English only, it still prints (in Lao) and says why.
    html = strip_marks(render_html([book], lang="en"))
    assert "This form has no English labels" in html and '<td lang="lo">ເປັນຫຍັງ?</td>' in html


def test_untranslatable_expression_is_quoted_as_written_in_a_footnote():
    data = xlsform(
        [
            ["type", "name", "label::English (en)", "label::Lao (lo)", "relevant"],
            ["text", "code", "Code", "ລະຫັດ", ""],
            [
                "text",
                "detail",
                "Detail",
                "ລາຍລະອຽດ",
                "regex(${code}, '^[A-Z]{2}') and pulldata('a', 'b', 'c', ${code}) > 3",
            ],
        ],
        settings=[["form_id", "version"], ["odd", "1"]],
    )
    [question] = [q for q in build_book(FormSource(data)).children if q.name == "detail"]
    assert not question.relevant.exact
    text = pdf_text(handbook_pdf([FormSource(data)]))
    assert squash("Ask only if “Code” starts with two capital letters and the value in note 1 is more than 3.") in text
    assert squash("1. pulldata('a', 'b', 'c', ${code})") in text


@pytest.mark.slow
def test_a_500_question_form_renders_with_page_numbers_and_contents():
    survey = [["type", "name", "label::English (en)", "label::Lao (lo)", "required", "relevant"]]
    for section in range(10):
        survey.append(["begin_group", f"part{section}", f"Part {section}", f"ພາກ {section}", "", ""])
        for n in range(50):
            i = section * 50 + n
            survey.append(["integer", f"q{i}", f"Question {i}", f"ຄຳຖາມ {i}", "yes", f"${{q{i - 1}}} > 0" if n else ""])
        survey.append(["end_group", "", "", "", "", ""])
    data = xlsform(survey, settings=[["form_id", "version"], ["big", "1"]])
    book = build_book(FormSource(data))
    assert book.question_count == 500 and len(book.sections) == 10
    # One language keeps the test quick; the bundled forms prove the side-by-side layout.
    pdf = handbook_pdf([FormSource(data)], lang="en")
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 30
    last = squash(pages[-1].extract_text())
    assert squash(f"Page {len(pages)} of {len(pages)}") in last
    contents = pages[1].extract_text()
    assert squash("Contents") in squash(contents)
    # Each section's line in the contents gives the page its heading is on.
    for s in range(10):
        match = re.search(rf"^{s + 1}\. Part {s} \.+ ?(\d+)$", contents, re.M)
        assert match, (s, contents)
        assert squash(f"{s + 1}. Part {s}") in squash(pages[int(match.group(1)) - 1].extract_text())
    text = pdf_text(pdf)
    assert squash("Question 499") in text and squash("ຄຳຖາມ 499") not in text
    assert squash("Ask only if “Question 498” is more than 0.") in text


def test_purpose_comes_from_the_settings_sheet_else_from_the_bundled_text():
    data = xlsform(
        [["type", "name", "label::English (en)"], ["text", "a", "A"]],
        settings=[
            ["form_id", "version", "purpose::English (en)", "purpose::Lao (lo)"],
            ["screening", "1", "Count things.", "ນັບ"],
        ],
    )
    assert build_book(FormSource(data)).purpose == {"en": "Count things.", "lo": "ນັບ"}
    plain = xlsform([["type", "name", "label"], ["text", "a", "A"]], settings=[["form_id"], ["screening"]])
    assert build_book(FormSource(plain)).purpose["en"].startswith("First contact with a person")


def test_printing_never_reaches_the_network(monkeypatch):
    import socket

    tried = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: tried.append(address))
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: tried.append(address))
    html = render_html(
        [build_book(FormSource((BUNDLED_FORMS_DIR / "referral.xlsx").read_bytes(), media=MEDIA))], lang="en"
    ).replace(
        "</head>",
        '<link rel="stylesheet" href="http://192.0.2.1/x.css">'
        "<style>body { background: url(https://192.0.2.1/x.png) }</style></head>",
    )
    pdf = write_pdf(html)
    assert tried == []
    assert squash("Referral") in pdf_text(pdf)  # the local stylesheet still applies: the page footer is there
    assert squash("Page 1 of") in pdf_text(pdf)


def test_kit_in_both_languages_keeps_each_tablet_on_one_a4_page():
    from forms.handbook.render import Tablet, course_kit_pdf

    source = FormSource((BUNDLED_FORMS_DIR / "referral.xlsx").read_bytes(), media=MEDIA)
    # A payload as long as a real one (a 64-character token in the URL), and a long device name.
    tablets = [Tablet(f"Course 2026-12-03 tablet 05-{n:02d}", "x" * 260) for n in (1, 2, 3)]
    pages = PdfReader(io.BytesIO(course_kit_pdf([source], tablets, province="05", lang="both"))).pages
    scan = [squash(p.extract_text()) for p in pages if squash("Configure with QR code") in squash(p.extract_text())]
    assert len(scan) == 3
    assert all(squash(t.name) in page and squash("ບໍ່ແກ້ວ · Bokeo") in page for t, page in zip(tablets, scan))
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pages} == {(595, 842)}


def test_render_pages_needs_nothing_beyond_the_runtime_install():
    import ast
    import sys

    from forms import BUNDLED_FORMS_DIR as forms_dir

    script = forms_dir.parent.parent / "docs" / "render_pages.py"
    tops = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            tops.add(node.module.split(".")[0])
    runtime = {"PIL", "weasyprint", "forms", "collector"}  # Pillow comes with WeasyPrint
    assert tops - set(sys.stdlib_module_names) - {"__future__"} <= runtime
