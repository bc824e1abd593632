"""Render handbooks, paper forms and course kits as HTML (Jinja2) and then PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import csv
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from forms import BUNDLED_MEDIA_DIR
from forms.handbook import phrases
from forms.handbook.model import FormBook, FormSource, build_book
from forms.lao import mark_html

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
#: ?lang= / --lang values and the languages each prints.
LANGUAGE_CHOICES = {"both": ("lo", "en"), "lo": ("lo",), "en": ("en",)}


@dataclass
class Tablet:
    """One tablet of a course kit: its name (English, and Lao), the ODK Collect settings payload its QR code
    carries, and its code (the device's number on the server)."""

    name: str
    payload: str
    name_lo: str = ""
    code: str = ""


#: Paper sizes: A4 for the office, A5 for a field booklet.
PAPER_SIZES = ("a4", "a5")
#: Largest emblem image accepted (bytes), and the formats: PNG and JPEG, recognised by their first bytes.
MAX_EMBLEM_BYTES = 2 * 1024 * 1024
_EMBLEM_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class EmblemError(ValueError):
    """The emblem file cannot be read, is too big, or is not a PNG or JPEG image."""


@dataclass
class Identity:
    """Who issues the document and which edition it is: printed on the cover.

    `edition` is the guideline (or course) version, `edition_date` its date; `emblem` is a data: URI of the
    official emblem the operator supplies (none is bundled).
    """

    edition: str = ""
    edition_date: str = ""
    course: str = ""
    emblem: str | None = None


def emblem_uri(path: str | Path | None) -> str | None:
    """Read an emblem image file into a data: URI, or None for no file.

    :raise EmblemError: unreadable, larger than MAX_EMBLEM_BYTES, or not PNG or JPEG.
    """
    if not path:
        return None

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EmblemError(f"The emblem file {path} cannot be read: {exc.strerror or exc}.") from exc
    if len(data) > MAX_EMBLEM_BYTES:
        raise EmblemError(f"The emblem file {path} is larger than {MAX_EMBLEM_BYTES // (1024 * 1024)} MB.")
    kind = next((t for magic, t in _EMBLEM_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise EmblemError(f"The emblem file {path} is not a PNG or JPEG image.")
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
    )
    env.globals["W"] = phrases.WORDS
    return env


def _languages(book: FormBook, wanted: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Return the languages to print for a form, and the notes on languages it lacks."""
    shown = [lang for lang in wanted if lang in book.languages] or list(book.languages) or ["lo"]
    notes = []
    if "en" in wanted and "en" not in book.languages:
        notes.append("no_english")
    if "lo" in wanted and "lo" not in book.languages:
        notes.append("no_lao")
    return shown, notes


def province_name(code: str) -> dict[str, str] | None:
    """Return a province's name in Lao and English from the bundled list, or None for an unknown code."""
    with (BUNDLED_MEDIA_DIR / "provinces.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["name"] == code:
                return {"lo": row["label_lo"], "en": row["label_en"]}
    return None


def _province_names(book_media: dict[str, bytes] | None = None) -> dict[str, dict[str, str]]:
    with (BUNDLED_MEDIA_DIR / "provinces.csv").open(encoding="utf-8") as handle:
        return {row["name"]: {"lo": row["label_lo"], "en": row["label_en"]} for row in csv.DictReader(handle)}


def appendices(book: FormBook, province: str | None = None) -> list[dict]:
    """The paper form's appendices: every CSV list its questions use, in full, lettered A, B, ...

    A list with a `province` column (districts) is grouped by province, the given province first.
    """
    names = _province_names()
    out = []
    for index, choice_file in enumerate(f for f in book.lists if not f.missing):
        groups: dict[str, list[dict]] = {}
        for entry in choice_file.all_entries:
            groups.setdefault(entry["group"], []).append(entry)
        order = sorted(groups, key=lambda code: (code != province, code))
        out.append(
            {
                "letter": chr(ord("A") + index),
                "file": choice_file,
                "groups": [{"code": code, "name": names.get(code, {}), "entries": groups[code]} for code in order],
            }
        )
    return out


def render_html(
    books: list[FormBook],
    *,
    lang: str = "both",
    paper: bool = False,
    tablets: list[Tablet] | None = None,
    province: str | None = None,
    printed: date | None = None,
    paper_size: str = "a4",
    cover: bool | None = None,
    identity: Identity | None = None,
) -> str:
    """Return the HTML of a handbook (or paper forms), with a course kit's cover and tablet pages if given.

    `cover` (default: yes, except for the paper form of one form, which stays compact) adds the cover, the
    contents and the back page with the forms' versions and hashes.
    """
    wanted = LANGUAGE_CHOICES[lang]
    if paper_size not in PAPER_SIZES:
        raise ValueError(f"paper size must be one of {', '.join(PAPER_SIZES)}")
    if cover is None:
        cover = tablets is not None or not (paper and len(books) == 1)
    entries = []
    for book in books:
        shown, notes = _languages(book, wanted)
        lists = appendices(book, province) if paper else []
        entries.append(
            {
                "book": book,
                "langs": shown,
                "notes": notes,
                "appendices": lists,
                "letters": {a["file"].name: a["letter"] for a in lists},
            }
        )
    kit = None
    if tablets is not None:
        kit = {
            "province": province,
            "province_name": (province_name(province) if province else None) or {},
            "tablets": [
                {
                    "name": t.name,
                    "name_lo": t.name_lo or t.name,
                    "code": t.code,
                    "qr": segno.make(t.payload, error="l", micro=False).svg_data_uri(scale=4, border=4),
                }
                for t in tablets
            ],
        }
    printed_on = (printed or date.today()).isoformat()
    identity = identity or Identity()
    # Without a named edition, the guidelines are those of the newest form version printed.
    edition = identity.edition or max((b.version for b in books), default="")
    template = _environment().get_template("paper.html" if paper else "handbook.html")
    html = template.render(
        entries=entries,
        langs=list(wanted),
        paper=paper,
        kit=kit,
        printed=printed_on,
        size=paper_size,
        cover=cover,
        identity=identity,
        edition=edition,
        edition_date=identity.edition_date or printed_on,
    )
    # Lao lines may break only between words: mark the word boundaries for the renderer.
    return mark_html(html)


#: What a printed page may load: the stylesheet beside the templates and the QR codes inlined as data: URIs.
LOCAL_PROTOCOLS = ("file", "data")


def write_pdf(html: str) -> bytes:
    """Lay out the HTML and return the PDF's bytes (fonts come from the system: fonts-lao, fonts-noto-core)."""
    from weasyprint import HTML, URLFetcher  # heavy: WeasyPrint loads Pango

    # base_url lets the templates link their stylesheet. Nothing is ever fetched from the network, even if a
    # label in an XLSForm were to carry a link: a server in a ministry need not reach the internet to print.
    fetcher = URLFetcher(allowed_protocols=LOCAL_PROTOCOLS)
    return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).write_pdf()


def handbook_pdf(
    sources: list[FormSource],
    *,
    lang: str = "both",
    paper: bool = False,
    province: str | None = None,
    paper_size: str = "a4",
    cover: bool | None = None,
    identity: Identity | None = None,
) -> bytes:
    """Return the handbook (or paper forms, with `province`'s districts listed first) as a PDF."""
    return write_pdf(
        render_html(
            [build_book(s) for s in sources],
            lang=lang,
            paper=paper,
            province=province,
            paper_size=paper_size,
            cover=cover,
            identity=identity,
        )
    )


def course_kit_pdf(
    sources: list[FormSource],
    tablets: list[Tablet],
    *,
    province: str,
    lang: str = "both",
    paper_size: str = "a4",
    identity: Identity | None = None,
) -> bytes:
    """Return a course kit: cover page, the sheet of tablets, the handbook, and one page per tablet with its QR code."""
    books = [build_book(s) for s in sources]
    return write_pdf(
        render_html(books, lang=lang, tablets=tablets, province=province, paper_size=paper_size, identity=identity)
    )
