"""Rewrite XLSForm expressions (`relevant`, `constraint`) as sentences in Lao and English."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from forms.handbook.regexwords import CHARACTERS as REGEX_CHARACTERS
from forms.handbook.regexwords import describe as describe_regex
from forms.handbook.words import COLUMNS, DATE_TYPES, LANGS, WORDS  # noqa: F401 (DATE_TYPES: read through here)
from forms.handbook.xpath_parse import Untranslatable, parse  # noqa: F401 (Untranslatable: raised to callers)

logger = logging.getLogger(__name__)


@dataclass
class FieldInfo:
    """What the translator needs to know of a field: its type, labels and choice labels, by language."""

    name: str
    type: str = "text"
    labels: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)

    def label(self, lang: str) -> str:
        """Return the field's label in `lang`, else in the other language, else its name."""
        return self.labels.get(lang) or next((v for v in self.labels.values() if v), "") or self.name

    def choice(self, value: str, lang: str) -> str | None:
        """Return a choice's label in `lang` (or another language), or None for an unknown value."""
        labels = self.choices.get(value)
        if labels is None:
            return None
        return labels.get(lang) or next((v for v in labels.values() if v), "") or value


@dataclass
class Translation:
    """A sentence per language, and whether every part of the expression was understood."""

    text: dict[str, str]
    exact: bool
    source: str
    #: What no sentence fits, printed as numbered footnotes under the sentence: (number, raw text).
    notes: list[tuple[int, str]] = field(default_factory=list)


Lookup = Callable[[str], "FieldInfo | None"]


class _Writer:
    """Write one parsed expression as a sentence in one language."""

    def __init__(self, lang: str, lookup: Lookup, subject: FieldInfo | None):
        self.w = WORDS[lang]
        self.lang = lang
        self.lookup = lookup
        self.subject = subject
        self.exact = True
        self.notes: list[tuple[int, str]] = []

    # -- operands ---------------------------------------------------------------------------------------
    def field(self, node) -> FieldInfo | None:
        if node[0] == "ref":
            return self.lookup(node[1]) or FieldInfo(node[1])
        if node[0] == "self":
            return self.subject
        return None

    def operand(self, node, about: FieldInfo | None = None, value: bool = False) -> str:
        kind = node[0]
        if kind == "col":
            return self.w["column"].format(a=COLUMNS.get(node[1], {}).get(self.lang) or f"“{node[1]}”")
        if kind == "ref":
            return self.w["quote"].format(a=self.field(node).label(self.lang))
        if kind == "self":
            return self.w["self"]
        if kind == "str":
            if about is not None:
                label = about.choice(node[1], self.lang)
                if label is not None:
                    return self.w["quote"].format(a=label)
            return self.w["code"].format(a=node[1]) if node[1] else "“”"
        if kind == "num":
            return node[1]
        if kind == "neg":
            return "-" + self.operand(node[1])
        if kind == "call" and node[1] == "today" and not node[2]:
            return self.w["today"]
        if kind == "call" and node[1] == "count-selected" and len(node[2]) == 1 and node[2][0][0] in ("ref", "self"):
            if node[2][0][0] == "self":
                return self.w["count_self"]
            return self.w["count"].format(a=self.operand(node[2][0]))
        if kind == "bin" and node[1] in ("+", "-", "*"):
            return f"{self.operand(node[2])} {node[1]} {self.operand(node[3])}"
        if kind == "call":
            said = self.function(node)
            if said is not None:
                return said
        return self.fallback(node, value=True)

    def note(self, raw: str) -> int:
        """Keep `raw` for a footnote and return its number."""
        for number, text in self.notes:
            if text == raw:
                return number
        self.notes.append((len(self.notes) + 1, raw))
        return len(self.notes)

    def fallback(self, node, value: bool = False) -> str:
        """Point to a footnote that quotes what cannot be said in words, exactly as the form has it."""
        self.exact = False
        return self.w["value_note" if value else "rule_note"].format(n=self.note(node[-1]))

    def function(self, node) -> str | None:
        """Say the functions forms use to compute a value; None for any other."""
        name, args = node[1], node[2]
        if name == "count" and len(args) == 1 and args[0][0] == "inst":
            return self.w["list_count"].format(a=f"{args[0][1]}.csv")
        if name == "format-date" and len(args) == 2 and args[1][0] == "str":
            what = self.w["this_year"] if _is_today(args[0]) else None
            if args[1][1] == "%Y":
                return what or self.w["year_of"].format(a=self.operand(args[0]))
            shape = args[1][1]
            for code, word in (
                ("%Y", "YYYY"),
                ("%y", "YY"),
                ("%m", "MM"),
                ("%n", "M"),
                ("%d", "DD"),
                ("%e", "D"),
                ("%H", "hh"),
                ("%M", "mm"),
                ("%S", "ss"),
            ):
                shape = shape.replace(code, word)
            if "%" in shape:
                return None
            return self.w["formatted"].format(a=self.operand(args[0]), b=shape)
        if name == "int" and len(args) == 1:
            inner = args[0]
            if inner[0] == "call" and inner[1] == "format-date":
                return self.operand(inner)
            if (
                inner[0] == "bin"
                and inner[1] == "div"
                and inner[3] == ("num", "365.25", inner[3][-1])
                and inner[2][0] == "bin"
                and inner[2][1] == "-"
                and all(x[0] == "call" and x[1] == "decimal-date-time" and len(x[2]) == 1 for x in inner[2][2:4])
            ):
                later, earlier = inner[2][2][2][0], inner[2][3][2][0]
                return self.w["years_between"].format(a=self.operand(later), b=self.operand(earlier))
            return self.w["whole"].format(a=self.operand(inner))
        if name == "number" and len(args) == 1:
            return self.w["number_of"].format(a=self.operand(args[0]))
        if name == "uuid" and not args:
            return self.w["uuid"]
        if name == "now" and not args:
            return self.w["now"]
        if name == "jr:choice-name" and len(args) == 2 and args[0][0] in ("ref", "self"):
            return self.w["choice_name"].format(a=self.operand(args[0]))
        if name == "string-length" and len(args) == 1:
            return self.w["length"].format(a=self.operand(args[0]))
        if name == "date" and len(args) == 1 and args[0][0] == "str":
            return args[0][1]
        if name == "substr" and len(args) == 3 and args[1][0] == args[2][0] == "num":
            start, end = int(float(args[1][1])), int(float(args[2][1]))
            if args[0][0] == "call" and args[0][1] == "uuid" and not args[0][2] and start == 0:
                return self.w["random"].format(n=end - start)
            return self.w["chars_of"].format(a=start + 1, b=end, c=self.operand(args[0]))
        if name == "coalesce" and len(args) == 2:
            return self.w["coalesce"].format(a=self.value(args[0]), b=self.value(args[1]))
        if name == "concat" and args:
            parts = [self.literal(a[1]) if a[0] == "str" else self.value(a) for a in args]
            return self.w["joined"].format(a=", ".join(parts))
        return None

    def literal(self, text: str) -> str:
        """Name a piece of text put into a value: "a dash (-)", or the text in quotes."""
        names = REGEX_CHARACTERS.get(text)
        return names[0 if self.lang == "en" else 1] if names else self.w["quote"].format(a=text)

    def value(self, node) -> str:
        """Say a calculation: a choice among values (if), a text put together, a number, or a condition."""
        kind = node[0]
        if kind == "call" and node[1] == "if" and len(node[2]) == 3:
            branches, rest = [], node
            while rest[0] == "call" and rest[1] == "if" and len(rest[2]) == 3:
                branches.append(self.w["if"].format(a=self.condition(rest[2][0]), b=self.value(rest[2][1])))
                rest = rest[2][2]
            return "; ".join(branches + [self.w["otherwise"].format(a=self.value(rest))])
        if kind == "str" and node[1] == "":
            return self.w["nothing"]
        if kind in ("bin", "call") and (
            node[1] in ("and", "or", "=", "!=", "<", "<=", ">", ">=") or node[1] in ("selected", "not", "regex")
        ):
            return self.condition(node)
        return self.operand(node, value=True)

    # -- conditions -------------------------------------------------------------------------------------
    def condition(self, node, top: bool = False) -> str:
        kind = node[0]
        if kind == "bin" and node[1] in ("and", "or"):
            return self.boolean(node, top)
        if kind == "bin" and node[1] in ("=", "!=", "<", "<=", ">", ">="):
            return self.compare(node)
        if kind == "call" and node[1] == "selected" and len(node[2]) == 2:
            target, value = node[2]
            about = self.field(target)
            if value[0] == "str" and target[0] in ("ref", "self"):
                return self.w["includes"].format(a=self.operand(target), b=self.operand(value, about))
        if kind == "call" and node[1] == "not" and len(node[2]) == 1:
            return self.negate(node[2][0])
        if kind == "call" and node[1] == "regex" and len(node[2]) == 2 and node[2][1][0] == "str":
            target, pattern = node[2]
            said = describe_regex(pattern[1])
            if said is not None:
                return self.w["regex"].format(a=self.operand(target), b=said[self.lang])
            self.exact = False
            return self.w["regex_note"].format(a=self.operand(target), n=self.note(pattern[1]))
        return self.fallback(node)

    def boolean(self, node, top: bool) -> str:
        op = node[1]
        parts = _flatten(node, op)
        merged = self.merge(parts, op) if op == "or" else None
        if merged:
            return merged
        words = [self.condition(p) if not _is_bool(p, other=op) else f"({self.condition(p)})" for p in parts]
        return f" {self.w[op]} ".join(words)

    def merge(self, parts, op) -> str | None:
        """Say `x = 'a' or x = 'b'` as "x is A or B", and the same for selected()."""
        if all(p[0] == "bin" and p[1] == "=" and p[3][0] == "str" for p in parts):
            targets = {p[2][-1] for p in parts}
            if len(targets) == 1 and parts[0][2][0] in ("ref", "self"):
                about = self.field(parts[0][2])
                values = f" {self.w[op]} ".join(self.operand(p[3], about) for p in parts)
                return self.w["is_either"].format(a=self.operand(parts[0][2]), b=values)
        if all(p[0] == "call" and p[1] == "selected" and len(p[2]) == 2 and p[2][1][0] == "str" for p in parts):
            targets = {p[2][0][-1] for p in parts}
            if len(targets) == 1 and parts[0][2][0][0] in ("ref", "self"):
                about = self.field(parts[0][2][0])
                values = f" {self.w[op]} ".join(self.operand(p[2][1], about) for p in parts)
                return self.w["includes"].format(a=self.operand(parts[0][2][0]), b=values)
        return None

    def compare(self, node) -> str:
        op, left, right = node[1], node[2], node[3]
        if left[0] in ("str", "num") and right[0] in ("ref", "self"):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        about = self.field(left)
        if left[0] == "col" and op in ("=", "!="):
            if right[0] == "ref":
                b = self.w["answer_to"].format(a=self.operand(right))
            elif right[0] == "str" and right[1] in ("yes", "no"):
                b = self.w["quote"].format(a=self.w[right[1]])
            else:
                b = self.operand(right)
            return self.w["is" if op == "=" else "is_not"].format(a=self.operand(left), b=b)
        if right[0] == "str" and right[1] == "" and op in ("=", "!="):
            return self.w["empty" if op == "=" else "answered"].format(a=self.operand(left))
        a, b = self.operand(left, about), self.operand(right, about)
        if op in ("=", "!="):
            return self.w["is" if op == "=" else "is_not"].format(a=a, b=b)
        dated = (about is not None and about.type in DATE_TYPES) or _is_today(right)
        return self.w[("date" if dated else "") + op].format(a=a, b=b)

    def negate(self, inner) -> str:
        if inner[0] == "bin" and inner[1] == "=":
            flipped = ("bin", "!=", inner[2], inner[3], inner[-1])
            return self.compare(flipped)
        if inner[0] == "call" and inner[1] == "selected" and len(inner[2]) == 2 and inner[2][1][0] == "str":
            target, value = inner[2]
            if target[0] in ("ref", "self"):
                return self.w["excludes"].format(a=self.operand(target), b=self.operand(value, self.field(target)))
        if inner[0] == "bin" and inner[1] == "or":
            parts = _flatten(inner, "or")
            if (
                all(p[0] == "bin" and p[1] == "=" and p[3][0] == "str" for p in parts)
                and len({p[2][-1] for p in parts}) == 1
                and parts[0][2][0] in ("ref", "self")
            ):
                about = self.field(parts[0][2])
                values = f" {self.w['nor']} ".join(self.operand(p[3], about) for p in parts)
                return self.w["is_neither"].format(a=self.operand(parts[0][2]), b=values)
        return self.w["not"].format(a=f"({self.condition(inner)})" if _is_bool(inner) else self.condition(inner))


def _flatten(node, op):
    if node[0] == "bin" and node[1] == op:
        return _flatten(node[2], op) + _flatten(node[3], op)
    return [node]


def _is_bool(node, other: str | None = None) -> bool:
    return node[0] == "bin" and node[1] in ("and", "or") and node[1] != other


def _is_today(node) -> bool:
    return node[0] == "call" and node[1] == "today"


def translate(
    source: str, lookup: Lookup, *, subject: FieldInfo | None = None, frame: str | None = None
) -> Translation:
    """Rewrite an expression as a sentence in each language.

    `lookup` names a field by its `${name}`; `subject` is the field `.` stands for (in a constraint);
    `frame` is a WORDS key such as "ask_if" that wraps the condition ("calc" says a calculation's value).
    What the translator does not know is printed as written in a numbered footnote the sentence points to,
    and the whole expression is when it does not parse.
    """
    text: dict[str, str] = {}
    exact = True
    notes: list[tuple[int, str]] = []
    try:
        tree = parse(source)
    except Untranslatable:
        tree = None
    for lang in LANGS:
        writer = _Writer(lang, lookup, subject)
        if tree is None:
            condition = writer.fallback(("raw", source.strip()), value=frame == "calc")
        elif frame == "calc":
            condition = writer.value(tree)
        else:
            condition = writer.condition(tree, top=True)
        exact = exact and writer.exact
        notes = writer.notes
        text[lang] = WORDS[lang][frame].format(a=condition) if frame else condition
    if not exact:
        logger.debug("put part of an expression the translator does not know in a footnote: %s", source)
    return Translation(text=text, exact=exact, source=source, notes=notes)
