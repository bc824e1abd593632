"""Read a form's field tree (paths, types, repeats, choices, sensitivity) from pyxform's output."""

from __future__ import annotations

#: pyxform question types whose value is a file name sent as a separate multipart part.
BINARY_TYPES = {"photo", "image", "audio", "video", "file", "background-audio", "signature", "audit"}
#: pyxform types that are structure, not answers.
GROUP_TYPES = {"group", "repeat"}

_XML_TYPES = {
    "integer": "int",
    "decimal": "decimal",
    "range": "decimal",
    "date": "date",
    "time": "time",
    "dateTime": "dateTime",
    "start": "dateTime",
    "end": "dateTime",
    "today": "date",
    "select one": "select1",
    "select all that apply": "select",
    "select one external": "select1",
    "geopoint": "geopoint",
    "geotrace": "geotrace",
    "geoshape": "geoshape",
    "rank": "odk:rank",
}


def _is_yes(value) -> bool:
    return str(value or "").strip().lower() in ("yes", "true", "1", "true()")


def build_field_tree(survey: dict) -> list[dict]:
    """Flatten pyxform's survey JSON into one entry per question, group and repeat.

    Each entry: path (``/data/route/place``), name, type (pyxform's), xml_type, kind
    (``question``, ``group`` or ``repeat``), repeat (path of the innermost enclosing repeat or None),
    binary, sensitive, tags, label (by language) and choices (list name) where it has them.
    """
    root = survey.get("name") or "data"
    out: list[dict] = []

    def walk(children: list[dict], prefix: str, repeat: str | None) -> None:
        for child in children or []:
            kind_type = child.get("type", "")
            path = f"{prefix}/{child['name']}"
            kind = kind_type if kind_type in GROUP_TYPES else "question"
            label = child.get("label")
            entry = {
                "path": path,
                "name": child["name"],
                "type": kind_type,
                "xml_type": _XML_TYPES.get(kind_type, "binary" if kind_type in BINARY_TYPES else "string"),
                "kind": kind,
                "repeat": repeat,
                "binary": kind_type in BINARY_TYPES,
                "sensitive": _is_yes(child.get("sensitive")),
                "tags": [t for t in str(child.get("tags") or "").split() if t],
                "label": label if isinstance(label, dict) else ({"default": label} if label else {}),
            }
            if child.get("itemset") or child.get("list_name"):
                entry["choices"] = child.get("itemset") or child.get("list_name")
            out.append(entry)
            if kind in GROUP_TYPES:
                walk(child.get("children", []), path, path if kind == "repeat" else repeat)

    walk(survey.get("children", []), f"/{root}", None)
    return out


#: pyxform types that store no answer typed by the officer: metadata, notes and calculations.
NOT_INPUT_TYPES = {
    "calculate",
    "note",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "phonenumber",
    "simserial",
    "subscriberid",
    "audit",
    "start-geopoint",
    "hidden",
}


def input_questions(fields: list[dict]) -> list[dict]:
    """Return the questions an officer answers (not groups, notes, calculations or metadata)."""
    return [
        f for f in fields if f["kind"] == "question" and f["type"] not in NOT_INPUT_TYPES and "/meta/" not in f["path"]
    ]
