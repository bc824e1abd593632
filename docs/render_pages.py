"""Render the page images in docs/ (one page per bundled form, one paper page, a kit's cover and tablet page): run by
hand.

Needs only what `make serve` installs, and `pdftoppm` (Debian's poppler-utils) to rasterise the pages.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from forms import BUNDLED_FORMS_DIR, BUNDLED_MEDIA_DIR
from forms.handbook.model import FormSource, build_book
from forms.handbook.render import LOCAL_PROTOCOLS, TEMPLATES, Identity, Tablet, render_html

DOCS = Path(__file__).parent
MEDIA = {p.name: p.read_bytes() for p in BUNDLED_MEDIA_DIR.glob("*.csv")}


def save_page(pdf: bytes, page: int, name: str, dpi: int = 90) -> None:
    """Rasterise one page (1-based) with pdftoppm and store it as a small palette PNG."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-png",
                "-singlefile",
                "-f",
                str(page),
                "-l",
                str(page),
                str(path),
                str(Path(tmp) / "page"),
            ],
            check=True,
        )
        image = Image.open(Path(tmp) / "page.png").convert("RGB")
    # 64 colours keep anti-aliased Lao marks legible at a fraction of the size.
    image.quantize(colors=64).save(DOCS / name, optimize=True)
    print(DOCS / name, (DOCS / name).stat().st_size // 1024, "KB")


def layout(html: str):
    """Lay the HTML out with WeasyPrint and return the document (its pages know their anchors)."""
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=LOCAL_PROTOCOLS)
    return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).render()


def form_page(document, form_id: str, offset: int = 1) -> int:
    """Return the 1-based number of the page `offset` pages after the one where the form starts."""
    for number, page in enumerate(document.pages, start=1):
        if f"form-{form_id}" in page.anchors:
            return number + offset
    raise SystemExit(f"{form_id} not found")


def main() -> None:
    """Render every image."""
    for path in sorted(BUNDLED_FORMS_DIR.glob("*.xlsx")):
        document = layout(render_html([build_book(FormSource(path.read_bytes(), media=MEDIA))]))
        save_page(document.write_pdf(), form_page(document, path.stem, 0), f"handbook-{path.stem}.png")
    screening = build_book(FormSource((BUNDLED_FORMS_DIR / "screening.xlsx").read_bytes(), media=MEDIA))
    paper = layout(render_html([screening], paper=True))
    save_page(paper.write_pdf(), form_page(paper, "screening"), "paper-screening.png")
    from collector.devices import collect_settings, settings_payload

    settings = collect_settings(
        "https://atip.example.la/v1/key/EXAMPLE-NOT-A-TOKEN/projects/1", "Lao PDR trafficking cases"
    )
    tablet = Tablet("Course 2026-12-06 tablet 05-01", settings_payload(settings), "ຫຼັກສູດ 2026-12-06 ແທັບເລັດ 05-01", "17")
    kit = layout(
        render_html(
            [screening],
            tablets=[tablet],
            province="05",
            identity=Identity(edition="2026.1", edition_date="2026-12-01", course="Bokeo, December"),
        )
    )
    pdf = kit.write_pdf()
    save_page(pdf, 1, "kit-cover.png", dpi=50)
    save_page(pdf, len(kit.pages), "kit-tablet.png", dpi=50)


if __name__ == "__main__":
    sys.exit(main())
