"""What the record page shows, built from what the read services return: every answer under its label, the
field-level differences between versions, and the interview's time per question.

These are presenters over data the services already redacted for the caller: a sensitive answer of a
caller who does not see identities is shown as hidden (never its value, not even a rounded one), and a
difference in it is never listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.console.views.record_table import rel
from forms.fields import NOT_INPUT_TYPES
from ingest.publishing.choices import question_label
from ingest.records.interview import Interview

#: Question types whose answer names a picture, shown as one. Notes, calculations and the metadata Collect
#: fills (forms.fields.NOT_INPUT_TYPES) are not shown: nobody answered them.
PICTURES = ("image", "photo", "signature")
#: Files a browser may show inside the page; any other file is downloaded.
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


@dataclass
class Line:
    """One line of the record page: a group or repeat heading, a repeat's instance, or a question."""

    kind: str
    depth: int
    label: str
    value: str = ""
    hidden: bool = False
    file: str | None = None
    picture: bool = False


def _text(value, choices: dict[str, str] | None) -> str:
    """Write an answer for the page: a choice by its label, several choices joined, no answer as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v, choices) for v in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return choices.get(text, text) if choices else text


class Answers:
    """Lay out one version's data under the labels of its form version's field tree, in `lang`."""

    def __init__(self, fields: list[dict], labels: dict[str, dict[str, str]], lang: str, hide_sensitive: bool):
        self.fields, self.labels, self.lang, self.hide = fields, labels, lang, hide_sensitive
        self.children: dict[str, list[dict]] = {}
        for item in fields:
            self.children.setdefault(item["path"].rsplit("/", 1)[0], []).append(item)
        self.root = fields[0]["path"].rsplit("/", 1)[0] if fields else ""

    def hidden(self, item: dict, redacted: set[str]) -> bool:
        """Say whether an answer is shown as hidden: redacted by the service, or sensitive for this caller."""
        return rel(item) in redacted or (self.hide and bool(item.get("sensitive")))

    def lines(self, data: dict, redacted: list[str]) -> list[Line]:
        """Return the page's lines for a version's (nested, redacted) data, in the form's order."""
        out: list[Line] = []
        self._walk(self.root, data, "", 0, set(redacted), out)
        return out

    def _walk(self, parent: str, data: dict, row_rel: str, depth: int, redacted: set[str], out: list[Line]) -> None:
        for item in self.children.get(parent, ()):
            key = rel(item)[len(row_rel) + 1 :] if row_rel else rel(item)
            label = question_label(item, self.lang)
            if item["kind"] == "group":
                if "/meta" in item["path"] and item["name"] == "meta":
                    continue
                out.append(Line("group", depth, label))
                self._walk(item["path"], data, row_rel, depth + 1, redacted, out)
            elif item["kind"] == "repeat":
                instances = data.get(key) or []
                out.append(Line("repeat", depth, label, str(len(instances))))
                for number, instance in enumerate(instances, 1):
                    out.append(Line("instance", depth + 1, label, str(number)))
                    self._walk(item["path"], instance, rel(item), depth + 2, redacted, out)
            elif item.get("type") not in NOT_INPUT_TYPES:
                value = data.get(key)
                hidden = self.hidden(item, redacted)
                line = Line("question", depth, label, "" if hidden else _text(value, self.labels.get(item["path"])))
                line.hidden = hidden
                if item.get("binary") and isinstance(value, str) and value and not hidden:
                    line.file, line.picture = value, item.get("type") in PICTURES
                out.append(line)

    def cell(self, item: dict, data: dict, redacted: set[str]) -> tuple[str, bool]:
        """Return a root question's answer as the table shows it: (text, hidden)."""
        if self.hidden(item, redacted):
            return "", True
        return _text(data.get(rel(item)), self.labels.get(item["path"])), False

    def flat(self, data: dict, redacted: list[str]) -> dict[str, tuple[str, str, bool]]:
        """Return a version's answers by place (`route[2]/place`): (label path, text, hidden)."""
        out: dict[str, tuple[str, str, bool]] = {}
        self._flatten(self.root, data, "", "", [], set(redacted), out)
        return out

    def _flatten(self, parent, data, row_rel, place, trail, redacted, out) -> None:
        for item in self.children.get(parent, ()):
            key = rel(item)[len(row_rel) + 1 :] if row_rel else rel(item)
            label = question_label(item, self.lang)
            if item["kind"] == "group":
                self._flatten(item["path"], data, row_rel, place, [*trail, label], redacted, out)
            elif item["kind"] == "repeat":
                for number, instance in enumerate(data.get(key) or [], 1):
                    here = f"{place}{key}[{number}]/"
                    self._flatten(item["path"], instance, rel(item), here, [*trail, f"{label} {number}"], redacted, out)
            elif item.get("type") not in NOT_INPUT_TYPES:
                hidden = self.hidden(item, redacted)
                text = "" if hidden else _text(data.get(key), self.labels.get(item["path"]))
                out[place + key] = (" › ".join([*trail, label]), text, hidden)


@dataclass
class Change:
    """One answer that differs between a version and the one before it."""

    label: str
    before: str
    after: str


def changes(older: dict[str, tuple[str, str, bool]], newer: dict[str, tuple[str, str, bool]]) -> list[Change]:
    """Return the answers that differ between two versions' `Answers.flat`, in the newer version's order
    (then those only the older one had). A hidden answer is never compared: its values are not known here."""
    out = []
    for place in [*newer, *(p for p in older if p not in newer)]:
        label, after, hidden_after = newer.get(place, (older.get(place, ("", "", False))[0], "", False))
        _label, before, hidden_before = older.get(place, (label, "", False))
        if hidden_after or hidden_before or before == after:
            continue
        out.append(Change(label, before, after))
    return out


@dataclass
class InterviewLine:
    """One question of the interview's audit log, by label, with its time."""

    label: str
    seconds: float
    visits: int
    fast: bool


def interview_lines(interview: Interview, fields: list[dict], lang: str) -> list[InterviewLine]:
    """Name each timed question of an audit log by its label (its node path when the form has no such field)."""
    by_rel = {rel(f): f for f in fields}
    out = []
    for timed in interview.questions:
        node = "/".join(timed.node.split("/")[2:])
        item = by_rel.get(node)
        label = question_label(item, lang) if item is not None else (node or timed.node)
        out.append(InterviewLine(label, round(timed.seconds, 1), timed.visits, timed.fast))
    return out
