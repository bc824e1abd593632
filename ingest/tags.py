"""Find answers by the meaning a form's `tags` column gives them, never by field name.

A trainer may rename a question; as long as it keeps its tag (`scope_province`, `consent_sharing`,
`case_code`, ...) the server keeps finding it.
"""
from __future__ import annotations

from ingest.normalise import Row


def tagged(fields: list[dict], tag: str) -> dict | None:
    """Return the first field of a field tree carrying `tag`, or None."""
    return next((f for f in fields if tag in (f.get("tags") or ())), None)


def row_key(field: dict) -> tuple[str, str]:
    """Return (relative path of the row a field's answers live in, key of the field inside that row).

    Both are relative to the instance root, so they hold whatever the root element is called.
    """
    parts = field["path"].split("/")
    rel = "/".join(parts[2:])
    repeat = field.get("repeat")
    if not repeat:
        return "", rel
    repeat_rel = "/".join(repeat.split("/")[2:])
    return repeat_rel, rel[len(repeat_rel) + 1:]


def root_answer(rows: list[Row], fields: list[dict], tag: str):
    """Return the answer of the field tagged `tag` outside any repeat (None if absent or unanswered)."""
    field = tagged(fields, tag)
    if field is None or field.get("repeat") or not rows:
        return None
    return rows[0].data.get(row_key(field)[1])


def record_province(rows: list[Row], fields: list[dict], fallback: str | None) -> str | None:
    """Return the province a record belongs to: the answer tagged scope_province if it is a province code,
    else `fallback` (the submitting device's province)."""
    from forms import province_names

    answer = root_answer(rows, fields, "scope_province")
    if isinstance(answer, str) and answer.strip() in province_names():
        return answer.strip()
    return fallback


def consent_withheld(rows: list[Row], fields: list[dict]) -> bool:
    """Say whether the answer tagged consent_sharing refuses sharing ("no")."""
    answer = root_answer(rows, fields, "consent_sharing")
    return isinstance(answer, str) and answer.strip().lower() == "no"
