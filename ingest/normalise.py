"""Turn an instance document into typed rows: one for the root, one per repeat instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from ingest.xmlsafe import local_name


@dataclass
class Row:
    """A normalised row before it is stored."""

    path: str
    position: int
    parent: Row | None
    data: dict = field(default_factory=dict)


def _coerce(value: str, xml_type: str):
    """Type a leaf's text by its bind type; keep the text when it does not parse (never lose it).

    Text is kept exactly as the tablet sent it, spaces included: only numbers are stripped to be typed.
    """
    if value == "":
        return None
    if xml_type in ("int", "decimal"):
        try:
            return int(value.strip()) if xml_type == "int" else float(value.strip())
        except ValueError:
            return value
    if xml_type == "select":
        return value.split()
    return value


def normalise(root: Element, fields: list[dict]) -> list[Row]:
    """Return the rows of an instance, root first; `fields` is the form version's field tree.

    Paths in the field tree start with the form's root name; the instance's root may carry another
    name (an unknown version), so both are matched relative to the root.
    """
    by_rel = {}
    for f in fields:
        rel = f["path"].split("/", 2)[2] if f["path"].count("/") >= 2 else ""
        by_rel[rel] = f
    root_path = "/" + local_name(root.tag)
    top = Row(path=root_path, position=1, parent=None)
    rows = [top]
    # Work list of (element, relative path of element, row it belongs to, key prefix inside that row).
    stack = [(root, "", top, "")]
    while stack:
        element, rel, row, prefix = stack.pop()
        counts: dict[str, int] = {}
        # Keys of leaves seen more than once in this element, whose values are collected in a list.
        repeated: set[str] = set()
        pending = []
        for child in element:
            name = local_name(child.tag)
            if not name:
                continue  # comments and processing instructions
            child_rel = f"{rel}/{name}" if rel else name
            spec = by_rel.get(child_rel)
            if spec is not None and spec["kind"] == "repeat":
                counts[child_rel] = counts.get(child_rel, 0) + 1
                new = Row(path=f"{root_path}/{child_rel}", position=counts[child_rel], parent=row)
                rows.append(new)
                pending.append((child, child_rel, new, ""))
            elif len(child) or (spec is not None and spec["kind"] == "group"):
                pending.append((child, child_rel, row, f"{prefix}{name}/"))
            else:
                key = f"{prefix}{name}"
                value = _coerce(child.text or "", spec["xml_type"] if spec else "string")
                if key in repeated:
                    row.data[key].append(value)
                elif key in row.data:
                    # A repeated leaf the form does not know as a repeat: keep every value (in place, so
                    # that thousands of them cost linear time).
                    row.data[key] = [row.data[key], value]
                    repeated.add(key)
                else:
                    row.data[key] = value
        # Keep document order when processing nested groups and repeats.
        stack.extend(reversed(pending))
    return rows


def nest(rows: list[dict]) -> dict:
    """Rebuild a nested document from stored rows (dicts with id, parent_id, path, position, data)."""
    by_id = {r["id"]: {**r["data"]} for r in rows}
    path_of = {r["id"]: r["path"] for r in rows}
    top = None
    for r in sorted(rows, key=lambda r: (r["parent_id"] is not None, r["id"])):
        if r["parent_id"] is None:
            top = by_id[r["id"]]
            continue
        key = r["path"][len(path_of[r["parent_id"]]) + 1 :]
        by_id[r["parent_id"]].setdefault(key, []).append(by_id[r["id"]])
    return top or {}
