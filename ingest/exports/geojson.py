"""Streamed GeoJSON export: a FeatureCollection with one Point per record and geopoint answer.

Each feature carries only keys, so a map can be joined back to the CSV or Excel export by `KEY`:
`__id` (the record's KEY, its first instanceID), `KEY` (the row's key: the record's, or a repeat's
`uuid:.../route[1]`), `field` (the question's path below the root, e.g. `route/point`), `accuracy` (metres,
when the tablet gave it) and `SubmissionDate`. Coordinates are [longitude, latitude] with the altitude
when there is one. Sensitive geopoints come rounded for roles without identity access (`ingest.redaction`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from ingest.exports.walk import Filters, RecordWalk, Table, logged_stop
from ingest.models import Form
from ingest.redaction import Redaction


def geopoint_fields(tables: list[Table]) -> list[tuple[str, str, str]]:
    """Return each geopoint question of the export's tables as (table, key in its row, path below the root)."""
    return [
        (t.rel, key, f"{t.rel}/{key}" if t.rel else key)
        for t in tables
        for key, _h, xml_type in t.columns
        if xml_type == "geopoint"
    ]


def pick_geopoint(tables: list[Table], name: str) -> list[tuple[str, str, str]]:
    """Return the geopoint question named by its path (`grp/location`) or CSV header (`grp-location`).

    :raise LookupError: no geopoint question of the form has that name.
    """
    found = [g for g in geopoint_fields(tables) if name in (g[2], g[2].replace("/", "-"))]
    if not found:
        raise LookupError(name)
    return found


def _point(value) -> tuple[list[float], float | None] | None:
    """Return a geopoint's coordinates ([lon, lat] or [lon, lat, alt]) and accuracy, or None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parts = [float(p) for p in value.split()]
    except ValueError:
        return None
    if len(parts) < 2 or not all(math.isfinite(p) for p in parts):
        return None
    coordinates = [parts[1], parts[0], *parts[2:3]]
    return coordinates, parts[3] if len(parts) > 3 else None


def geojson(
    session: Session,
    form: Form,
    filters: Filters = Filters(),
    *,
    geopoint: str | None = None,
    on_record: Callable[[], None] | None = None,
    batch: int | None = None,
    redaction: Redaction,
) -> Iterator[bytes]:
    """Yield a GeoJSON FeatureCollection of a form's geopoint answers in the session's scope, redacted as
    `redaction` says.

    `geopoint` keeps one question (see `pick_geopoint`). Features carry keys only, so no choice labels.

    :raise LookupError: `geopoint` names no geopoint question (raised before the first byte).
    """
    walk = RecordWalk(session, form, filters, redaction=redaction, batch=batch, on_record=on_record)
    wanted = pick_geopoint(walk.tables, geopoint) if geopoint else geopoint_fields(walk.tables)
    return _features(walk, wanted)


def _features(walk: RecordWalk, wanted: list[tuple[str, str, str]]) -> Iterator[bytes]:
    with logged_stop(walk, "geojson"):
        yield b'{"type": "FeatureCollection", "features": ['
        first = True
        for page in walk.pages():
            out = []
            for record in page:
                for row in record.rows:
                    for rel, key, path in wanted:
                        point = _point(row["data"].get(key)) if row["rel"] == rel else None
                        if point is None:
                            continue
                        properties = {
                            "__id": record.key,
                            "KEY": row["key"],
                            "field": path,
                            "accuracy": point[1],
                            "SubmissionDate": record.submitted,
                        }
                        out.append(
                            json.dumps(
                                {
                                    "type": "Feature",
                                    "geometry": {"type": "Point", "coordinates": point[0]},
                                    "properties": properties,
                                },
                                ensure_ascii=False,
                            )
                        )
            if out:
                yield (("\n" if first else ",\n") + ",\n".join(out)).encode()
                first = False
        yield b"\n]}\n"
