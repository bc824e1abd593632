"""Shared test helpers (moved from tests/forms/test_handbook.py)."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
from openpyxl import Workbook
from pypdf import PdfReader

from forms import BUNDLED_FORMS_DIR, BUNDLED_MEDIA_DIR
from forms.compiler import compile_xlsform

MEDIA = {p.name: p.read_bytes() for p in BUNDLED_MEDIA_DIR.glob("*.csv")}


def squash(text: str) -> str:
    """Reduce text to what survives PDF text extraction, on both sides of a comparison.

    Extraction spaces Lao marks and wraps lines anywhere, so whitespace goes. The Lao font draws ຳ as two
    glyphs (ໍ + າ) and a PDF maps each glyph to one text only, so ຳ comes back as າ or ຳ and a lone ໍ may
    vanish: both sides drop ໍ after NFKC (which splits ຳ). The page images show the shaping itself.
    """
    return re.sub(r"[\s\u0ecd]+", "", unicodedata.normalize("NFKC", text))


def pdf_text(pdf: bytes) -> str:
    """Return the squashed text of every page."""
    return squash("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def xlsform(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None) -> bytes:
    """Write an XLSForm from rows (the first row of each sheet is its header)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if rows:
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def compiled_referral():
    """Compile the bundled referral form once, without ODK Validate (not the point here)."""
    return compile_xlsform(BUNDLED_FORMS_DIR / "referral.xlsx", validate=False)


@pytest.fixture
def referral(app, db_session, compiled_referral):
    """Publish the referral form with its CSV media into project 1 and return its version."""
    from ingest.publishing.versions import ensure_project, publish

    ensure_project(db_session, 1)
    media = {name: (BUNDLED_MEDIA_DIR / name).read_bytes() for name in compiled_referral.media}
    version = publish(db_session, app.extensions["collector.store"], 1, compiled_referral, media).version
    db_session.commit()
    return version
