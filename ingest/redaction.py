"""Hide what identifies a person from callers without identity access: fields tagged sensitive in the form.

The field tree of the form version says which fields are sensitive (the XLSForm's `sensitive` column).
For callers who may not see identities, their answers become null (and are listed as redacted), their
elements in the raw XML are emptied, files they name are refused, and sensitive geopoints are rounded to
two decimals (about a kilometre) instead of hidden, so maps still work.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

from ingest.access import Caller
from ingest.scope import ScopeMissing
from ingest.tags import row_key
from ingest.xmlsafe import local_name, parse

for _prefix, _uri in (
    ("orx", "http://openrosa.org/xforms"),
    ("jr", "http://openrosa.org/javarosa"),
    ("odk", "http://www.opendatakit.org/xforms"),
):
    ElementTree.register_namespace(_prefix, _uri)

#: Decimal places a sensitive geopoint keeps.
GEO_DECIMALS = 2
_GEO_TYPES = ("geopoint", "geotrace", "geoshape")


def hides_identities(caller: Caller, draft: bool = False) -> bool:
    """Say whether `caller` must get redacted data (draft test data is never real, so never redacted).

    :raise ScopeMissing: no caller (None): protection fails closed, never open.
    """
    if not isinstance(caller, Caller):
        raise ScopeMissing("redaction was asked for without a caller")
    return not draft and not caller.may("identities")


@dataclass(frozen=True)
class Redaction:
    """What a read service decided for its caller, handed to the presenters (which never look the caller up):
    whether identities are hidden from real records (draft test data is never real, so never redacted)."""

    identities_hidden: bool

    def applies(self, draft: bool = False) -> bool:
        """Say whether a record (a draft's test record or a real one) is shown redacted."""
        return self.identities_hidden and not draft


def redaction_for(caller: Caller) -> Redaction:
    """Decide the redaction of a read for `caller`.

    :raise ScopeMissing: no caller.
    """
    return Redaction(hides_identities(caller))


def sensitive_fields(fields: list[dict]) -> list[dict]:
    """Return the questions of a field tree tagged sensitive."""
    return [f for f in fields or () if f.get("sensitive") and f.get("kind") == "question"]


def round_geo(value: str) -> str:
    """Round every coordinate of a geopoint (or each point of a trace or shape) to GEO_DECIMALS."""
    points = []
    for point in value.split(";"):
        parts = []
        for part in point.split():
            try:
                parts.append(f"{round(float(part), GEO_DECIMALS):.{GEO_DECIMALS}f}")
            except ValueError:
                return ""  # not a coordinate: hide it rather than guess
        points.append(" ".join(parts))
    return ";".join(points)


def _masked(field: dict, value):
    if value is None:
        return None
    if field.get("xml_type") in _GEO_TYPES and isinstance(value, str):
        return round_geo(value)
    return None


def redact_rows(rows: list[dict], fields: list[dict]) -> list[str]:
    """Blank the sensitive answers of stored rows (dicts with path and data) in place.

    Returns the redacted fields' paths relative to the instance root, in field-tree order.
    """
    redacted = []
    for field in sensitive_fields(fields):
        row_rel, key = row_key(field)
        for row in rows:
            if "/".join(row["path"].split("/")[2:]) == row_rel and key in row["data"]:
                row["data"][key] = _masked(field, row["data"][key])
                if field["path"] not in redacted:
                    redacted.append(field["path"])
    return ["/".join(p.split("/")[2:]) for p in redacted]


def sensitive_files(rows: list[dict], fields: list[dict]) -> set[str]:
    """Return the names of the files that sensitive questions (a document photo, say) refer to."""
    names = set()
    for field in sensitive_fields(fields):
        if not field.get("binary"):
            continue
        row_rel, key = row_key(field)
        for row in rows:
            if "/".join(row["path"].split("/")[2:]) == row_rel and isinstance(row["data"].get(key), str):
                names.add(row["data"][key])
    return names


def redact_xml(xml: bytes, fields: list[dict]) -> bytes:
    """Return an instance document with the elements of sensitive fields emptied (geopoints rounded)."""
    by_rel = {"/".join(f["path"].split("/")[2:]): f for f in sensitive_fields(fields)}
    if not by_rel:
        return xml
    root = parse(xml)

    def walk(element, rel: str) -> None:
        for child in element:
            name = local_name(child.tag)
            if not name:
                continue
            child_rel = f"{rel}/{name}" if rel else name
            field = by_rel.get(child_rel)
            if field is not None:
                masked = _masked(field, child.text) if child.text else None
                for grandchild in list(child):
                    child.remove(grandchild)
                child.text = masked or None
            else:
                walk(child, child_rel)

    walk(root, "")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
