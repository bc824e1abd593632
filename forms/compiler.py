"""Convert an XLSForm to an XForm with pyxform, validate it with ODK Validate, and report problems."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyxform.builder import create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.validators.odk_validate import ODKValidateError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import ConvertResult, convert

from forms.fields import build_field_tree
from forms.java import java_problem
from forms.xpath_check import check_xform

logger = logging.getLogger(__name__)

#: Largest XLSForm accepted; the ministry's biggest form is well under 1 MB.
MAX_XLSFORM_BYTES = 5 * 1024 * 1024

#: Longest version string stored (a yyyymmddnn version has 10 characters).
MAX_VERSION_LENGTH = 64
#: Longest form title stored.
MAX_TITLE_LENGTH = 500

_ROW_RE = re.compile(r"\[row\s*:\s*(\d+)\]")
_SHEET_RE = re.compile(r"(?:'(\w+)' sheet|sheet '(\w+)'|sheet named '(\w+)')")
#: A media file an XForm references (its name).
MEDIA_RE = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\s\"'<>)]+)")
#: A form ID this server accepts (Central's IDs, without spaces or slashes: it appears in URLs and file names).
FORM_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


@dataclass
class Problem:
    """One error or warning about an XLSForm, located where pyxform says."""

    level: str  # "error" or "warning"
    message: str
    sheet: str | None = None
    row: int | None = None

    @classmethod
    def from_text(cls, level: str, text: str) -> Problem:
        """Build a problem from pyxform's text, picking out the sheet and row it names."""
        text = text.strip()
        row = _ROW_RE.search(text)
        sheet = _SHEET_RE.search(text)
        return cls(
            level=level,
            message=text,
            sheet=next((g for g in sheet.groups() if g), None) if sheet else None,
            row=int(row.group(1)) if row else None,
        )

    def as_dict(self) -> dict:
        """Return the problem as a JSON-ready dict."""
        return {"level": self.level, "message": self.message, "sheet": self.sheet, "row": self.row}

    def __str__(self) -> str:
        where = ", ".join(
            p for p in (f"sheet {self.sheet}" if self.sheet else "", f"row {self.row}" if self.row else "") if p
        )
        return f"{self.level}: {self.message}" + (f" ({where})" if where and str(self.row) not in self.message else "")


class FormError(Exception):
    """The XLSForm cannot be published; `problems` says why."""

    def __init__(self, summary: str, problems: list[Problem]):
        super().__init__(summary)
        self.summary = summary
        self.problems = problems


@dataclass
class CompiledForm:
    """An XForm built from an XLSForm, with what the server needs to know about it."""

    form_id: str
    version: str
    title: str
    xml: str
    fields: list[dict]
    media: list[str]
    warnings: list[Problem] = field(default_factory=list)
    xlsx: bytes | None = None

    @property
    def xml_bytes(self) -> bytes:
        """Return the XForm as the exact bytes served to tablets."""
        return self.xml.encode("utf-8")

    @property
    def md5(self) -> str:
        """Return the md5 hex digest of the bytes served, as formList advertises it."""
        return hashlib.md5(self.xml_bytes).hexdigest()


def _check_is_xlsx(data: bytes) -> None:
    if len(data) > MAX_XLSFORM_BYTES:
        raise FormError(
            f"The file is {len(data) // 1024} KB; an XLSForm may be at most {MAX_XLSFORM_BYTES // 1024} KB.",
            [Problem("error", "The file is too large to be an XLSForm.")],
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FormError(
            "This file is not an .xlsx spreadsheet.",
            [Problem("error", "Save the form in Excel or LibreOffice as .xlsx and upload that file.")],
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise FormError(
                "This file is not an .xlsx spreadsheet.",
                [Problem("error", "The archive holds no Excel workbook.")],
            )
        # A zip bomb would expand in pyxform's reader: refuse an absurd uncompressed size.
        if sum(info.file_size for info in archive.infolist()) > 20 * MAX_XLSFORM_BYTES:
            raise FormError("The spreadsheet expands to too much data.", [Problem("error", "Spreadsheet too large.")])


def _check_formulas(data: bytes) -> list[Problem]:
    """Find formula cells: pyxform would read their cached value, which may be stale or missing."""
    from openpyxl import load_workbook  # heavy: openpyxl only when a workbook is read

    problems = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a broken archive; none is the caller's fault
        raise FormError(
            "This file is not a readable .xlsx spreadsheet.",
            [
                Problem(
                    "error",
                    f"The workbook inside the file is damaged ({type(exc).__name__}). "
                    "Save the form again in Excel or LibreOffice as .xlsx.",
                )
            ],
        ) from None
    try:
        for sheet in workbook.worksheets:
            if sheet.title not in ("survey", "choices", "settings", "external_choices", "entities"):
                continue
            for row in sheet.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f":
                        problems.append(
                            Problem(
                                "error",
                                f"Cell {cell.coordinate} holds a spreadsheet formula; type the value itself.",
                                sheet=sheet.title,
                                row=cell.row,
                            )
                        )
    finally:
        workbook.close()
    return problems


def _survey_rows(data: bytes) -> dict[str, int]:
    """Return the survey sheet's row number of each field name (the first row that names it)."""
    from openpyxl import load_workbook  # heavy: openpyxl only when a workbook is read

    rows: dict[str, int] = {}
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if "survey" not in workbook.sheetnames:
            return rows
        column = None
        for number, values in enumerate(workbook["survey"].iter_rows(values_only=True), start=1):
            if column is None:
                heads = [str(v or "").strip().lower() for v in values]
                column = heads.index("name") if "name" in heads else -1
                continue
            if 0 <= column < len(values) and values[column]:
                rows.setdefault(str(values[column]).strip(), number)
    finally:
        workbook.close()
    return rows


def check_expressions(xml: str, data: bytes) -> list[Problem]:
    """Find the expressions tablets would refuse (unknown functions, bad XPath, type errors), with their rows.

    ODK Validate does not catch these: it looks a function up only when it evaluates the expression.
    """

    findings = check_xform(xml)
    if not findings:
        return []
    rows = _survey_rows(data)
    problems = []
    for finding in findings:
        name = finding.node.rstrip("/").rsplit("/", 1)[-1]
        column = {"nodeset": "choice_filter", "count": "repeat_count", "value": "calculation or label"}.get(
            finding.attribute, finding.attribute.replace("calculate", "calculation")
        )
        problems.append(
            Problem(
                "error",
                f"{column} of '{name}': {finding.message}: {finding.expression}",
                sheet="survey",
                row=rows.get(name),
            )
        )
    return problems


def _convert(data: bytes, warnings: list[str], form_id_fallback: str | None) -> ConvertResult:
    """Run pyxform's conversion; a form without form_id gets `form_id_fallback` (else pyxform's "data").

    pyxform takes the fallback only from a file's name; this is its `convert` with the name given instead,
    so that a client's file name never becomes a path (Central's X-XlsForm-FormId-Fallback header).
    """
    if form_id_fallback is None:
        return convert(data, warnings=warnings, validate=False, file_type=".xlsx", pretty_print=False)
    workbook = dataclasses.replace(get_xlsform(xlsform=data, file_type=".xlsx"), fallback_form_name=form_id_fallback)
    tree = workbook_to_json(workbook_dict=workbook, fallback_form_name=form_id_fallback, warnings=warnings)
    survey = create_survey_element_from_dict(tree)
    xform = survey.to_xml(validate=False, pretty_print=False, warnings=warnings)
    return ConvertResult(xform=xform, warnings=warnings, itemsets=None, _pyxform=tree, _survey=survey)


def compile_xlsform(
    source: bytes | str | Path, *, validate: bool = True, strict: bool = False, form_id_fallback: str | None = None
) -> CompiledForm:
    """Convert and validate an XLSForm, returning the compiled form (`form_id_fallback`: the form ID of a form
    whose settings give none).

    :raise FormError: when pyxform or ODK Validate refuse the form, when an expression uses what tablets do
        not know (forms.xpath_check), or (strict) on any warning.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    _check_is_xlsx(data)
    formula_problems = _check_formulas(data)
    if formula_problems:
        raise FormError("The XLSForm holds spreadsheet formulas.", formula_problems)
    warnings: list[str] = []
    try:
        result = _convert(data, warnings, form_id_fallback)
        # Our own check first: it names the row, and it sees what Validate lets through (a constraint is
        # evaluated, and its functions looked up, only once a question is answered).
        expression_problems = check_expressions(result.xform, data)
        if expression_problems:
            raise FormError("Tablets would refuse expressions of the form.", expression_problems)
        if validate:
            more: list[str] = []
            result._survey.to_xml(validate=True, pretty_print=False, warnings=more)
            warnings += [w for w in more if w not in warnings]
    except ODKValidateError as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip() and not ln.startswith(("\t", "${tmp"))]
        detail = [ln.lstrip("> ") for ln in lines if "ODK Validate Errors" not in ln and "failed validation" not in ln]
        raise FormError(
            "ODK Validate found errors in the form.", [Problem.from_text("error", "\n".join(detail[:12]))]
        ) from None
    except PyXFormError as exc:
        raise FormError("pyxform could not convert the form.", [Problem.from_text("error", str(exc))]) from None
    except OSError:
        # pyxform's own message about Java suggests a --skip_validate flag that this server does not have.
        problem = java_problem()
        if problem is None:
            raise
        raise FormError(problem, []) from None
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        # pyxform lets some malformed workbooks through as plain exceptions.
        raise FormError(
            "pyxform could not read the spreadsheet.", [Problem("error", f"{type(exc).__name__}: {exc}")]
        ) from None
    problems = [Problem.from_text("warning", w) for w in warnings]
    if strict and problems:
        raise FormError("The form has warnings and strict mode is on.", problems)
    tree = result._pyxform
    form_id = str(tree.get("id_string") or "")
    if not FORM_ID_RE.fullmatch(form_id):
        raise FormError(
            "The form_id setting is not a usable form ID.",
            [
                Problem(
                    "error",
                    f"form_id {form_id!r} must start with a letter and hold only letters, digits, _ . -",
                    sheet="settings",
                )
            ],
        )
    version = str(tree.get("version") or "")
    if len(version) > MAX_VERSION_LENGTH:
        raise FormError(
            "The version setting is too long.",
            [
                Problem(
                    "error",
                    f"version must be at most {MAX_VERSION_LENGTH} characters, e.g. 2026120201.",
                    sheet="settings",
                )
            ],
        )
    if not version:
        # An empty version setting gets a timestamp, as Central does, so every publish is distinct.
        version = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        xml = result.xform.replace(f'id="{form_id}"', f'id="{form_id}" version="{version}"', 1)
    else:
        xml = result.xform
    return CompiledForm(
        form_id=form_id,
        version=version,
        title=str(tree.get("title") or form_id)[:MAX_TITLE_LENGTH],
        xml=xml,
        fields=build_field_tree(tree),
        media=sorted(set(MEDIA_RE.findall(xml))),
        warnings=problems,
        xlsx=data,
    )
