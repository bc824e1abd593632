"""The ministry's survey guidelines (XLSForms), their compiler and field trees (no Flask, no database)."""

import csv
import functools
from pathlib import Path

#: The XLSForms shipped with the product, published by `make serve`.
BUNDLED_FORMS_DIR = Path(__file__).parent / "xlsforms"
#: Form media (CSV lists of provinces, districts, countries) shipped with the forms.
BUNDLED_MEDIA_DIR = Path(__file__).parent / "media"


def find_media(form_path: Path, names: list[str], given=()) -> dict[str, bytes]:
    """Read the media a form references: `given` files first, then a `media/` folder beside the form or
    beside its folder, then the bundled media."""
    by_name = {Path(p).name: Path(p) for p in given}
    folders = [form_path.parent / "media", form_path.parent.parent / "media", BUNDLED_MEDIA_DIR]
    media = {}
    for name in names:
        candidate = by_name.get(name) or next((f / name for f in folders if (f / name).is_file()), None)
        if candidate is not None:
            media[name] = candidate.read_bytes()
    return media


@functools.cache
@functools.lru_cache(maxsize=1)
def province_names() -> dict[str, str]:
    """Return the Lao Statistics Bureau province codes with their English names, from the bundled media."""
    with (BUNDLED_MEDIA_DIR / "provinces.csv").open(encoding="utf-8") as handle:
        return {row["name"]: row["label_en"] for row in csv.DictReader(handle)}


@functools.cache
def media_rows(name: str) -> tuple[dict[str, str], ...]:
    """Return the rows of a bundled media list (`provinces.csv`, `countries.csv`) as dicts by column."""
    with (BUNDLED_MEDIA_DIR / name).open(encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))
