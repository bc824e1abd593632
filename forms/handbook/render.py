"""Render handbooks, paper forms and course kits as HTML (Jinja2) and then PDF (WeasyPrint)."""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from forms import BUNDLED_MEDIA_DIR
from forms.lao import mark_html
from forms.handbook import phrases
from forms.handbook.model import FormBook, FormSource, build_book

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
#: ?lang= / --lang values and the languages each prints.
LANGUAGE_CHOICES = {"both": ("lo", "en"), "lo": ("lo",), "en": ("en",)}


@dataclass
class Tablet:
    """One tablet of a course kit: its name and the ODK Collect settings payload its QR code carries."""

    name: str
    payload: str


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
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
        out.append({"letter": chr(ord("A") + index), "file": choice_file,
                    "groups": [{"code": code, "name": names.get(code, {}), "entries": groups[code]} for code in order]})
    return out


def render_html(books: list[FormBook], *, lang: str = "both", paper: bool = False,
                tablets: list[Tablet] | None = None, province: str | None = None,
                printed: date | None = None) -> str:
    """Return the HTML of a handbook (or paper forms), with a course kit's cover and tablet pages if given."""
    wanted = LANGUAGE_CHOICES[lang]
    entries = []
    for book in books:
        shown, notes = _languages(book, wanted)
        lists = appendices(book, province) if paper else []
        entries.append({"book": book, "langs": shown, "notes": notes, "appendices": lists,
                        "letters": {a["file"].name: a["letter"] for a in lists}})
    kit = None
    if tablets is not None:
        kit = {
            "province": province, "province_name": (province_name(province) if province else None) or {},
            "tablets": [{"name": t.name, "qr": segno.make(t.payload, error="l", micro=False)
                         .svg_data_uri(scale=4, border=4)} for t in tablets],
        }
    template = _environment().get_template("paper.html" if paper else "handbook.html")
    html = template.render(entries=entries, langs=list(wanted), paper=paper, kit=kit,
                           printed=(printed or date.today()).isoformat())
    # Lao lines may break only between words: mark the word boundaries for the renderer.
    return mark_html(html)


#: What a printed page may load: the stylesheet beside the templates and the QR codes inlined as data: URIs.
LOCAL_PROTOCOLS = ("file", "data")


def write_pdf(html: str) -> bytes:
    """Lay out the HTML and return the PDF's bytes (fonts come from the system: fonts-lao, fonts-noto-core)."""
    from weasyprint import HTML, URLFetcher

    # base_url lets the templates link their stylesheet. Nothing is ever fetched from the network, even if a
    # label in an XLSForm were to carry a link: a server in a ministry need not reach the internet to print.
    fetcher = URLFetcher(allowed_protocols=LOCAL_PROTOCOLS)
    return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).write_pdf()


def handbook_pdf(sources: list[FormSource], *, lang: str = "both", paper: bool = False,
                 province: str | None = None) -> bytes:
    """Return the handbook (or paper forms, with `province`'s districts listed first) as a PDF."""
    return write_pdf(render_html([build_book(s) for s in sources], lang=lang, paper=paper, province=province))


def course_kit_pdf(sources: list[FormSource], tablets: list[Tablet], *, province: str, lang: str = "both") -> bytes:
    """Return a course kit: cover page, the handbook, and one page per tablet with its QR code."""
    books = [build_book(s) for s in sources]
    return write_pdf(render_html(books, lang=lang, tablets=tablets, province=province))
