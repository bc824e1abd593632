"""The XLSForm compiler: bundled forms pass pyxform and ODK Validate; bad workbooks get clear errors."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from forms import BUNDLED_FORMS_DIR, BUNDLED_MEDIA_DIR
from forms.compiler import FormError, compile_xlsform
from tests.conftest import DATA
from tests.support.forms import BAD_EXPRESSIONS, workbook_bytes

BUNDLED = sorted(BUNDLED_FORMS_DIR.glob("*.xlsx"))


def test_five_bundled_forms_are_shipped():
    assert [p.stem for p in BUNDLED] == ["case_intake", "followup", "monthly_summary", "referral", "screening"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_form_converts_and_passes_odk_validate(path):
    compiled = compile_xlsform(path, validate=True, strict=True)
    assert compiled.form_id == path.stem
    assert compiled.version
    assert 'lang="Lao (lo)" default="true()"' in compiled.xml and 'lang="English (en)"' in compiled.xml
    for name in compiled.media:
        assert (BUNDLED_MEDIA_DIR / name).is_file(), f"{path.stem} references missing media {name}"


@pytest.mark.parametrize("path", [p for p in BUNDLED if p.stem != "monthly_summary"], ids=lambda p: p.stem)
def test_bundled_case_forms_tag_identifying_fields_sensitive(path):
    fields = compile_xlsform(path, validate=False).fields
    assert any(f["sensitive"] for f in fields)


def test_monthly_summary_holds_no_personal_data():
    fields = compile_xlsform(BUNDLED_FORMS_DIR / "monthly_summary.xlsx", validate=False).fields
    assert not [f["path"] for f in fields if f["sensitive"]]


def test_field_tree_has_paths_types_repeats_and_sensitivity():
    fields = {f["path"]: f for f in compile_xlsform(DATA / "sample_case.xlsx", validate=False).fields}
    assert fields["/data/full_name"]["sensitive"] is True
    assert fields["/data/age"]["xml_type"] == "int"
    assert fields["/data/indicators"]["xml_type"] == "select"
    assert fields["/data/photo"]["binary"] is True
    assert fields["/data/route"]["kind"] == "repeat"
    assert fields["/data/route/place"]["repeat"] == "/data/route"
    assert fields["/data/full_name"]["label"] == {"Lao (lo)": "ຊື່ ແລະ ນາມສະກຸນ", "English (en)": "Full name"}


def test_input_questions_leave_out_metadata_notes_and_calculations():
    from forms.fields import input_questions

    fields = compile_xlsform(DATA / "sample_case.xlsx", validate=False).fields
    assert [f["name"] for f in input_questions(fields)] == [
        "consent",
        "full_name",
        "age",
        "indicators",
        "province",
        "photo",
        "place",
        "days",
        "place_photo",
    ]


def test_media_references_are_found():
    assert compile_xlsform(DATA / "sample_case.xlsx", validate=False).media == ["provinces.csv"]


def test_empty_version_gets_a_timestamp():
    compiled = compile_xlsform(
        workbook_bytes([("type", "name", "label"), ("text", "a", "A")], settings=(("form_id",), ("noversion",))),
        validate=False,
    )
    assert len(compiled.version) == 14 and compiled.version.isdigit()
    assert f'id="noversion" version="{compiled.version}"' in compiled.xml


def test_pyxform_error_names_sheet_and_row():
    with pytest.raises(FormError) as caught:
        compile_xlsform(
            workbook_bytes(
                [("type", "name", "label", "relevant"), ("text", "a", "A", ""), ("text", "b", "B", "${nowhere} = 1")]
            ),
            validate=False,
        )
    [problem] = caught.value.problems
    assert problem.row == 3 and "nowhere" in problem.message


def test_odk_validate_error_is_reported():
    with pytest.raises(FormError) as caught:
        compile_xlsform(
            workbook_bytes(
                [
                    ("type", "name", "label", "calculation"),
                    ("calculate", "a", "", "${b} + 1"),
                    ("calculate", "b", "", "${a} + 1"),
                ]
            )
        )
    assert caught.value.summary == "ODK Validate found errors in the form."
    assert "cycle" in caught.value.problems[0].message.lower()


def test_not_a_spreadsheet_is_refused():
    with pytest.raises(FormError) as caught:
        compile_xlsform(b"%PDF-1.4 this is not a spreadsheet")
    assert caught.value.summary == "This file is not an .xlsx spreadsheet."


def test_zip_without_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(FormError, match="not an .xlsx"):
        compile_xlsform(out.getvalue())


def test_workbook_without_survey_sheet_is_refused():
    wb = Workbook()
    wb.active.title = "notes"
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(FormError) as caught:
        compile_xlsform(out.getvalue(), validate=False)
    assert "survey" in caught.value.problems[0].message.lower()


def test_oversized_file_is_refused():
    with pytest.raises(FormError, match="at most"):
        compile_xlsform(b"PK" + b"\0" * (10 * 1024 * 1024))


def test_formula_cell_is_refused_with_its_place():
    with pytest.raises(FormError) as caught:
        compile_xlsform(
            workbook_bytes([("type", "name", "label"), ("integer", "a", '=CONCAT("A","B")')]), validate=False
        )
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row) == ("survey", 2) and "formula" in problem.message


def test_warnings_block_only_in_strict_mode():
    source = workbook_bytes([("type", "name", "label"), ("image", "photo", "Photo")])
    assert compile_xlsform(source, validate=False).warnings
    with pytest.raises(FormError, match="strict"):
        compile_xlsform(source, validate=False, strict=True)


def test_bad_form_id_is_refused():
    with pytest.raises(FormError, match="form_id"):
        compile_xlsform(
            workbook_bytes([("type", "name", "label"), ("text", "a", "A")], settings=(("form_id",), ("1 bad id",))),
            validate=False,
        )


@pytest.mark.parametrize("validate", [False, True])
def test_expressions_tablets_would_refuse_are_refused_with_their_rows(validate):
    with pytest.raises(FormError) as caught:
        compile_xlsform(workbook_bytes(BAD_EXPRESSIONS), validate=validate)
    assert caught.value.summary == "Tablets would refuse expressions of the form."
    found = {(p.row, p.sheet) for p in caught.value.problems}
    assert found == {(2, "survey"), (3, "survey"), (4, "survey")}
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "“regexp()” is not a function" in text and "“isblank()” is not a function" in text
    assert "“ten” is text, not a number" in text


@pytest.mark.parametrize(
    "expression, words",
    [
        ("${a} = = 1", "expected a field or a value"),
        ("selected(${a})", "takes 2 arguments, not 1"),
        ("(${a} > 1", "expected “)”"),
        (". > date('01/02/2020')", "is not a date"),
    ],
)
def test_bad_xpath_and_wrong_arguments_are_refused(expression, words):
    with pytest.raises(FormError) as caught:
        compile_xlsform(
            workbook_bytes(
                [("type", "name", "label", "constraint"), ("integer", "a", "A", ""), ("integer", "b", "B", expression)]
            ),
            validate=False,
        )
    [problem] = caught.value.problems
    assert problem.row == 3 and words in problem.message


def test_every_xpath_function_of_the_bundled_forms_is_known():
    from forms.xpath_check import check_xform

    for path in BUNDLED:
        assert check_xform(compile_xlsform(path, validate=False).xml) == []
