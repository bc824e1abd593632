"""What changed between two versions of a form: questions added, removed, relabelled or retyped, and choices.

A trainer checks this before publishing a draft: a relabelled question changes what officers are asked, a
removed choice leaves older answers without a label. Questions are matched by their path in the form (a
question moved into another group shows as removed and added); labels are compared in every language and
shown in one. Choice labels come from the XForm (ingest.publishing.choices); lists read from a CSV media file
are not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.publishing.choices import LANGUAGES, choice_labels

_CODE = re.compile(r"\(([A-Za-z-]+)\)\s*$")


@dataclass(frozen=True)
class Question:
    """A question (or group, repeat) as the diff shows it: path, name, pyxform type and label."""

    path: str
    name: str
    type: str
    label: str


@dataclass(frozen=True)
class Relabelled:
    """A question whose label (in any language) or type changed; `old`/`new` in the language asked for."""

    path: str
    name: str
    old: str
    new: str


@dataclass
class ChoicesChanged:
    """A select question whose choices changed: (name, label) added and removed, (name, old, new) relabelled."""

    path: str
    name: str
    label: str
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    relabelled: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class FormDiff:
    """What changed from one version of a form to the next."""

    added: list[Question] = field(default_factory=list)
    removed: list[Question] = field(default_factory=list)
    relabelled: list[Relabelled] = field(default_factory=list)
    retyped: list[Relabelled] = field(default_factory=list)
    choices: list[ChoicesChanged] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Say whether nothing a trainer would see changed."""
        return not (self.added or self.removed or self.relabelled or self.retyped or self.choices)


def label_in(label: dict[str, str], lang: str) -> str:
    """Pick a label in `lang` from pyxform's {language: text} (`Lao (lo)`, `lo`, or `default`), else any."""
    for name, text in label.items():
        code = _CODE.search(name)
        if (code.group(1) if code else name).lower() == lang.lower():
            return text
    return label.get("default") or next(iter(label.values()), "")


def _changed_label(before: dict[str, str], after: dict[str, str], lang: str) -> tuple[str, str]:
    """Return a changed label's (old, new): in `lang` if it changed there, else in a language where it did."""
    old, new = label_in(before, lang), label_in(after, lang)
    if old != new:
        return old, new
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) != after.get(name):
            return before.get(name, ""), after.get(name, "")
    return old, new


def _questions(fields: list[dict]) -> dict[str, dict]:
    """Return the form's questions, groups and repeats by path, without the metadata Collect fills in."""
    return {f["path"]: f for f in fields if "/meta/" not in f["path"] + "/" and not f["path"].endswith("/meta")}


def _by_name(labels: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Key an XForm's choice lists by the question's name too, for a path written another way."""
    return {**{ref.rsplit("/", 1)[-1]: v for ref, v in labels.items()}, **labels}


#: {language: {question ref and name: {choice name: label}}}
_Choices = dict[str, dict[str, dict[str, str]]]


def _choices_of(xml: str) -> _Choices:
    """Return {language: {question ref and name: {choice name: label}}} of an XForm."""
    return {lang: _by_name(choice_labels(xml, lang)) for lang in LANGUAGES}


def _choice_change(path: str, entry: dict, old: _Choices, new: _Choices, lang: str) -> ChoicesChanged | None:
    """Compare one question's choices in every language; None when they are the same."""
    keys = (path, entry["name"])
    before: dict[str, dict[str, str]] = {lg: next((old[lg][k] for k in keys if k in old[lg]), {}) for lg in LANGUAGES}
    after: dict[str, dict[str, str]] = {lg: next((new[lg][k] for k in keys if k in new[lg]), {}) for lg in LANGUAGES}
    if before == after:
        return None
    old_names = {n for lg in LANGUAGES for n in before[lg]}
    new_names = {n for lg in LANGUAGES for n in after[lg]}
    change = ChoicesChanged(path, entry["name"], label_in(entry.get("label") or {}, lang) or entry["name"])
    change.added = [(n, after[lang].get(n, n)) for n in _ordered(after, new_names - old_names)]
    change.removed = [(n, before[lang].get(n, n)) for n in _ordered(before, old_names - new_names)]
    for name in _ordered(after, old_names & new_names):
        changed = [lg for lg in LANGUAGES if before[lg].get(name) != after[lg].get(name)]
        if changed:
            shown = lang if lang in changed else changed[0]
            change.relabelled.append((name, before[shown].get(name, name), after[shown].get(name, name)))
    return change if change.added or change.removed or change.relabelled else None


def _ordered(labels: dict[str, dict[str, str]], names: set[str]) -> list[str]:
    """Return `names` in the order the form lists them (then any others sorted)."""
    seen = [n for lg in LANGUAGES for n in labels[lg]]
    order = {n: i for i, n in reversed(list(enumerate(seen)))}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def compare_forms(old_fields: list[dict], old_xml: str, new_fields: list[dict], new_xml: str, lang: str) -> FormDiff:
    """Compare two versions of a form from their field trees (forms.fields) and XForms; labels in `lang`.

    Questions keep the new version's order; removed ones the old version's.
    """
    old, new = _questions(old_fields), _questions(new_fields)
    diff = FormDiff()

    def question(entry: dict) -> Question:
        return Question(entry["path"], entry["name"], entry["type"], label_in(entry.get("label") or {}, lang))

    diff.added = [question(e) for p, e in new.items() if p not in old]
    diff.removed = [question(e) for p, e in old.items() if p not in new]
    old_choices, new_choices = _choices_of(old_xml), _choices_of(new_xml)
    for path, entry in new.items():
        before = old.get(path)
        if before is None:
            continue
        if (before.get("label") or {}) != (entry.get("label") or {}):
            old_label, new_label = _changed_label(before.get("label") or {}, entry.get("label") or {}, lang)
            diff.relabelled.append(Relabelled(path, entry["name"], old_label, new_label))
        if before["type"] != entry["type"]:
            diff.retyped.append(Relabelled(path, entry["name"], before["type"], entry["type"]))
        if entry["kind"] == "question":
            change = _choice_change(path, entry, old_choices, new_choices, lang)
            if change is not None:
                diff.choices.append(change)
    return diff
