"""Find answers by the meaning a form's `tags` column gives them, never by field name.

A trainer may rename a question; as long as it keeps its tag (`scope_province`, `consent_sharing`,
`case_code`, ...) the server keeps finding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from forms import province_names
from ingest.normalise import Row


class HasData(Protocol):
    """A row with answers: a normalised Row, or a stored SubmissionRow."""

    @property
    def data(self) -> dict: ...


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
    return repeat_rel, rel[len(repeat_rel) + 1 :]


def root_answer(rows: Sequence[HasData], fields: list[dict], tag: str):
    """Return the answer of the field tagged `tag` outside any repeat (None if absent or unanswered)."""
    field = tagged(fields, tag)
    if field is None or field.get("repeat") or not rows:
        return None
    return rows[0].data.get(row_key(field)[1])


def record_province(rows: list[Row], fields: list[dict], fallback: str | None) -> str | None:
    """Return the province a record belongs to: the answer tagged scope_province if it is a province code,
    else `fallback` (the submitting device's province)."""
    answer = root_answer(rows, fields, "scope_province")
    if isinstance(answer, str) and answer.strip() in province_names():
        return answer.strip()
    return fallback


def place_record(
    rows: list[Row], fields: list[dict], senders: frozenset[str] | None, sealed: bool = False
) -> tuple[str | None, str | None]:
    """Return (the province a record is placed in, the province it claims outside its sender's scope).

    `senders` are the provinces the sender may send for (None: national, any province). The answer tagged
    scope_province places the record when it is in the sender's scope. An answer outside it is kept as a
    claim, and the record is placed in the sender's own province (the first in code order when the sender
    has several) for a supervisor to check: a record never lands in a province its sender does not work in.
    A record that answers no province goes to the sender's province; a sealed one, still unreadable, to the
    sender's only province, else to none until its key is unlocked (ingest.encryption.keys replays it then).
    """
    answer = record_province(rows, fields, None)
    if senders is None:
        return answer, None
    if answer in senders:
        return answer, None
    if sealed and answer is None and len(senders) != 1:
        return None, None
    return min(senders), answer


def scope_text(senders: frozenset[str] | None) -> str:
    """Write a sender's provinces as stored with a submission version: codes space-separated, `*` national."""
    return "*" if senders is None else " ".join(sorted(senders))


def scope_of(text: str | None, device_province: str | None = None, has_device: bool = False) -> frozenset[str] | None:
    """Read a sender's provinces back from a submission version (`scope_text`); a version stored before they
    were kept (NULL) reads as its device's province, as the record was placed then, else national."""
    if text is None:
        return frozenset({device_province}) if has_device and device_province else None
    return None if text == "*" else frozenset(text.split())


def consent_withheld(rows: list[Row], fields: list[dict]) -> bool:
    """Say whether the answer tagged consent_sharing refuses sharing ("no")."""
    answer = root_answer(rows, fields, "consent_sharing")
    return isinstance(answer, str) and answer.strip().lower() == "no"
