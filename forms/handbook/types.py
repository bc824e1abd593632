"""A question's type in plain words ("a date not after today", "a whole number from 0 to 110")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forms.handbook import phrases
from forms.handbook.expressions import DATE_TYPES, LANGS, Untranslatable, parse

if TYPE_CHECKING:  # the model imports this module
    from forms.handbook.model import ChoiceFile


def type_text(child: dict, choice_file: ChoiceFile | None) -> dict[str, str]:
    """Say a question's type in plain words, from its type, appearance and constraint."""
    kind = child["type"]
    appearance = str((child.get("control") or {}).get("appearance") or "")
    constraint = str((child.get("bind") or {}).get("constraint") or "")
    key = phrases.TYPE_KEYS.get(kind, "other")
    if kind == "date" and "month-year" in appearance:
        key = "month_year"
    elif kind == "text" and "multiline" in appearance:
        key = "multiline"
    text = dict(phrases.TYPES[key])
    if key == "other":
        text = {lang: f"{t} ({kind})" for lang, t in text.items()}
    if choice_file is not None:
        text = {lang: phrases.TYPES["choose_one_file"][lang].format(file=choice_file.name) for lang in LANGS}
    limits = bounds(constraint)
    today = [op for op in ("<=", "<", ">=", ">") if limits.get(op) == "today()"]
    if kind in DATE_TYPES and len(today) == 1:
        text = dict(phrases.TYPES[_TODAY_TYPES[today[0]]])
    elif kind in ("integer", "decimal") and "<=" in limits and ">=" in limits:
        text = {
            lang: phrases.WORDS[lang]["range"].format(t=text[lang], a=limits[">="], b=limits["<="]) for lang in LANGS
        }
    return text


#: A date's bound on today -> key of phrases.TYPES ("a date not after today").
_TODAY_TYPES = {"<=": "date_not_future", "<": "date_past", ">=": "date_not_past", ">": "date_future"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def bounds(constraint: str) -> dict[str, str]:
    """Pick `. >= a`, `. <= b` (and `<`, `>` on today) out of a constraint's top-level `and`s.

    `a <= .` counts as `. >= a`, as the form's author may write it either way round.
    """
    try:
        tree = parse(constraint) if constraint else None
    except Untranslatable:
        return {}
    found = {}
    stack = [tree] if tree else []
    while stack:
        node = stack.pop()
        if node[0] == "bin" and node[1] == "and":
            stack += [node[2], node[3]]
        elif node[0] == "bin" and node[1] in _FLIP and "self" in (node[2][0], node[3][0]):
            op, other = (node[1], node[3]) if node[2][0] == "self" else (_FLIP[node[1]], node[2])
            if other[0] == "num" and op in ("<=", ">="):
                found[op] = other[1]
            elif other[0] == "call" and other[1] == "today" and not other[2]:
                found[op] = "today()"
    return found
