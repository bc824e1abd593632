"""Build a handbook's picture of one form (sections, numbered questions, sentences) from its XLSForm."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field

from pyxform.xls2xform import convert

from forms.fields import NOT_INPUT_TYPES
from forms.handbook import phrases
from forms.handbook.expressions import (
    LANGS,
    WORDS,
    FieldInfo,
    Translation,
    translate,
)
from forms.handbook.types import type_text

logger = logging.getLogger(__name__)

#: How many entries of a CSV choice list the handbook prints.
CSV_PREVIEW = 20
#: pyxform types that are bookkeeping, not questions an officer sees (notes are shown; background audio is not).
HIDDEN_TYPES = (NOT_INPUT_TYPES - {"note"}) | {"background-audio"}

_LANG_RE = re.compile(r"\((lo|en)\)\s*$")
_REF_RE = re.compile(r"\$\{\s*([A-Za-z_][\w.-]*)\s*\}")


@dataclass
class FormSource:
    """What the caller knows of one form version: the XLSForm's bytes and the server's record of it."""

    xlsx: bytes
    version: str | None = None
    #: md5 of the XForm as served to tablets (formList's hash); computed from pyxform's output when absent.
    xml_md5: str | None = None
    #: media files the form references, by name (CSV choice lists).
    media: dict[str, bytes] = field(default_factory=dict)
    draft: bool = False


@dataclass
class ChoiceFile:
    """A choice list kept in a CSV file (select_one_from_file): its name, first entries and count."""

    name: str
    entries: list[dict]
    count: int
    missing: bool = False
    #: Every entry, for the paper form's appendix; each has a "group" (its `province` column, if any).
    all_entries: list[dict] = field(default_factory=list)


@dataclass
class Question:
    """One question or note, with everything printed about it, each text by language."""

    name: str
    type: str
    number: int | None
    label: dict[str, str]
    hint: dict[str, str]
    type_text: dict[str, str]
    required: bool
    sensitive: bool
    multiline: bool = False
    choices: list[dict] = field(default_factory=list)
    choice_file: ChoiceFile | None = None
    relevant: Translation | None = None
    constraint: Translation | None = None
    constraint_message: dict[str, str] = field(default_factory=dict)
    #: How the tablet works the value out (a `calculation`), when to again (`trigger`), and which entries
    #: of the choices it shows (`choice_filter`).
    calculation: Translation | None = None
    trigger: Translation | None = None
    choice_filter: Translation | None = None
    kind: str = "question"


@dataclass
class Section:
    """A group (or repeat) of the form: a section of the handbook."""

    name: str
    label: dict[str, str]
    number: str
    repeat: bool = False
    relevant: Translation | None = None
    #: Where an officer goes when the section is not asked ("If not, skip to section 5."), by language.
    skip_to: dict[str, str] = field(default_factory=dict)
    children: list = field(default_factory=list)
    kind: str = "section"


@dataclass
class FormBook:
    """One form as the handbook prints it."""

    form_id: str
    title: dict[str, str]
    version: str
    xml_md5: str
    purpose: dict[str, str]
    languages: list[str]
    draft: bool
    children: list
    question_count: int
    sections: list[Section]
    #: The CSV lists the form's questions use, in order of first use: the paper form's appendices.
    lists: list[ChoiceFile] = field(default_factory=list)


def _lang_of(key: str, default: str) -> str | None:
    match = _LANG_RE.search(key)
    if match:
        return match.group(1)
    return default if key in ("default", "") else None


def _texts(value, default: str) -> dict[str, str]:
    """Map pyxform's label (a string, or a dict by language name) to {"lo": ..., "en": ...}."""
    if not value:
        return {}
    if isinstance(value, str):
        return {default: value}
    out = {}
    for key, text in value.items():
        lang = _lang_of(key, default)
        if lang and text and lang not in out:
            out[lang] = str(text)
    return out


def _title(title: str) -> dict[str, str]:
    # The ministry's titles read "<Lao> / <English>".
    if " / " in title:
        lao, _, english = title.partition(" / ")
        return {"lo": lao.strip(), "en": english.strip()}
    return {"lo": title, "en": title}


def read_csv_choices(name: str, data: bytes | None) -> ChoiceFile:
    """Read the first entries of a CSV choice list and count them all."""
    if data is None:
        return ChoiceFile(name=name, entries=[], count=0, missing=True)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    entries = []
    for row in rows:
        label = row.get("label") or ""
        entries.append(
            {
                "name": row.get("name", ""),
                "group": row.get("province") or "",
                "label": {"lo": row.get("label_lo") or label, "en": row.get("label_en") or label},
            }
        )
    return ChoiceFile(name=name, entries=entries[:CSV_PREVIEW], count=len(rows), all_entries=entries)


def _field_infos(children: list[dict], default: str, out: dict[str, FieldInfo]) -> None:
    for child in children:
        choices = {c["name"]: _texts(c.get("label"), default) for c in child.get("choices") or []}
        out[child["name"]] = FieldInfo(
            child["name"], child.get("type", ""), _texts(child.get("label"), default), choices
        )
        _field_infos(child.get("children") or [], default, out)


def _fill_refs(texts: dict[str, str], fields: dict[str, FieldInfo]) -> dict[str, str]:
    """Show `${field}` inside a label as the field's label, or its name in brackets (calculations have none)."""

    def fill(lang):
        def one(match):
            info = fields.get(match.group(1))
            return f"[{info.labels.get(lang) or info.name}]" if info else match.group(0)

        return one

    return {lang: _REF_RE.sub(fill(lang), text) for lang, text in texts.items()}


class _Builder:
    def __init__(self, survey: dict, source: FormSource):
        self.default = _lang_of(str(survey.get("default_language") or "default"), "lo") or "lo"
        self.fields: dict[str, FieldInfo] = {}
        _field_infos(survey.get("children") or [], self.default, self.fields)
        self.media = source.media
        self.number = 0
        self.sections: list[Section] = []
        self.languages: set[str] = set()
        self.lists: dict[str, ChoiceFile] = {}

    def walk(self, children: list[dict], prefix: str) -> list:
        out, count = [], 0
        for child in children:
            kind = child.get("type", "")
            if child.get("name") == "meta" or (child.get("control") or {}).get("bodyless"):
                continue
            if kind == "calculate" and (child.get("bind") or {}).get("calculate"):
                out.append(self.calculated(child))
            elif kind in HIDDEN_TYPES:
                continue
            elif kind in ("group", "repeat"):
                count += 1
                out.append(self.section(child, f"{prefix}{count}"))
            else:
                out.append(self.question(child))
        _mark_skips(out, prefix.rstrip("."))
        return out

    def section(self, child: dict, number: str) -> Section:
        bind = child.get("bind") or {}
        section = Section(
            name=child["name"], label=self.texts(child.get("label")), number=number, repeat=child["type"] == "repeat"
        )
        if bind.get("relevant"):
            section.relevant = translate(bind["relevant"], self.fields.get, frame="section_if")
        self.sections.append(section)
        section.children = self.walk(child.get("children") or [], f"{number}.")
        return section

    def question(self, child: dict) -> Question:
        bind = child.get("bind") or {}
        kind = child["type"]
        itemset = str(child.get("itemset") or "")
        choice_file = None
        if itemset.endswith((".csv", ".xml", ".geojson")):
            choice_file = self.lists.get(itemset) or (
                read_csv_choices(itemset, self.media.get(itemset))
                if itemset.endswith(".csv")
                else ChoiceFile(itemset, [], 0, missing=True)
            )
            self.lists.setdefault(itemset, choice_file)
        is_note = kind == "note"
        if not is_note:
            self.number += 1
        info = self.fields[child["name"]]
        question = Question(
            name=child["name"],
            type=kind,
            number=None if is_note else self.number,
            label=_fill_refs(self.texts(child.get("label")), self.fields),
            hint=_fill_refs(self.texts(child.get("hint")), self.fields),
            type_text=phrases.TYPES["note"] if is_note else type_text(child, choice_file),
            required=str(bind.get("required") or "").lower() in ("yes", "true", "true()", "1"),
            sensitive=str(child.get("sensitive") or "").strip().lower() in ("yes", "true", "1"),
            multiline="multiline" in str((child.get("control") or {}).get("appearance") or ""),
            choices=[{"name": c["name"], "label": self.texts(c.get("label"))} for c in child.get("choices") or []],
            choice_file=choice_file,
            constraint_message=_fill_refs(self.texts(bind.get("jr:constraintMsg")), self.fields),
            kind="note" if is_note else "question",
        )
        if bind.get("relevant"):
            question.relevant = translate(bind["relevant"], self.fields.get, frame="ask_if")
        if bind.get("constraint"):
            question.constraint = translate(bind["constraint"], self.fields.get, subject=info, frame="accept_if")
        self.rules(question, child)
        return question

    def rules(self, question: Question, child: dict) -> None:
        """Add the sentences of a field's calculation, trigger and choice filter."""
        bind = child.get("bind") or {}
        if bind.get("calculate"):
            question.calculation = translate(str(bind["calculate"]), self.fields.get, frame="calc")
        trigger = child.get("trigger")
        if trigger:
            names = [str(n).strip().strip("${}") for n in ([trigger] if isinstance(trigger, str) else trigger)]
            infos = [self.fields.get(n) or FieldInfo(n) for n in names]
            question.trigger = Translation(
                text={
                    lang: WORDS[lang]["trigger"].format(
                        a=f" {WORDS[lang]['or']} ".join(WORDS[lang]["quote"].format(a=i.label(lang)) for i in infos)
                    )
                    for lang in LANGS
                },
                exact=True,
                source=", ".join(names),
            )
        if child.get("choice_filter"):
            question.choice_filter = translate(str(child["choice_filter"]), self.fields.get, frame="filter")

    def calculated(self, child: dict) -> Question:
        """A value the tablet works out by itself: printed in the handbook, with no number and no box."""
        bind = child.get("bind") or {}
        question = Question(
            name=child["name"],
            type="calculate",
            number=None,
            label=_fill_refs(self.texts(child.get("label")), self.fields),
            hint={},
            type_text={},
            required=False,
            sensitive=False,
            kind="calc",
        )
        self.rules(question, child)
        if bind.get("relevant"):
            question.relevant = translate(bind["relevant"], self.fields.get, frame="calc_if")
        return question

    def texts(self, value) -> dict[str, str]:
        out = _texts(value, self.default)
        self.languages.update(out)
        return out


def _skip_target(siblings: list, start: int, condition: str):
    """Return the first sibling after `start` an officer reaches when `condition` is false, or None.

    Siblings asked under the same condition are skipped with the section, and so are notes (nothing to
    answer, and no number to name them by).
    """
    for node in siblings[start + 1 :]:
        if node.kind in ("note", "calc") or (node.relevant is not None and node.relevant.source.strip() == condition):
            continue
        return node
    return None


def _mark_skips(siblings: list, parent: str) -> None:
    """Say where to go on paper when a section is not asked: the next section or question, or an end."""
    for i, node in enumerate(siblings):
        if node.kind != "section" or node.relevant is None:
            continue
        target = _skip_target(siblings, i, node.relevant.source.strip())
        if target is None:
            key, value = ("skip_end_of", parent) if parent else ("skip_end", "")
        elif target.kind == "section":
            key, value = "skip_section", target.number
        else:
            key, value = "skip_question", str(target.number)
        node.skip_to = {lang: phrases.WORDS[lang][key].format(n=value) for lang in LANGS}


def survey_of(xlsx: bytes) -> tuple[dict, str]:
    """Convert an XLSForm with pyxform (without ODK Validate) and return its survey JSON and XForm."""
    result = convert(xlsx, validate=False, file_type=".xlsx", warnings=[], pretty_print=False)
    return result._pyxform, result.xform


def build_book(source: FormSource) -> FormBook:
    """Read one form version into the handbook's model: sections, numbered questions and their sentences."""
    survey, xform = survey_of(source.xlsx)
    builder = _Builder(survey, source)
    children = builder.walk(survey.get("children") or [], "")
    form_id = str(survey.get("id_string") or "")
    title = _title(str(survey.get("title") or form_id))
    return FormBook(
        form_id=form_id,
        title=title,
        version=source.version or str(survey.get("version") or ""),
        xml_md5=source.xml_md5 or hashlib.md5(xform.encode("utf-8")).hexdigest(),
        purpose=phrases.purpose(form_id, source.xlsx),
        languages=[lang for lang in LANGS if lang in builder.languages],
        draft=source.draft,
        children=children,
        question_count=builder.number,
        sections=builder.sections,
        lists=list(builder.lists.values()),
    )
