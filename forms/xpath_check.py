"""Check every XPath expression of a compiled XForm as a tablet would: syntax, function names, argument counts.

ODK Validate (JavaRosa) parses a form's expressions but looks functions up only when it evaluates them, so a
constraint such as `regexp(., '[a-z]+')` passes it and fails on the tablet, in the field, once the question
is answered. This module parses each expression (XPath 1.0's grammar) and refuses functions that the ODK
XForms specification does not define, calls with the wrong number of arguments, and some type errors that
are certain without data (text that is not a number in arithmetic, a literal that is not a date in date()).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

#: Functions of the ODK XForms specification (XPath 1.0's core functions that ODK keeps, and ODK's own),
#: with their smallest and largest number of arguments (None: any number).
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    # XPath 1.0 core
    "last": (0, 0),
    "position": (0, 1),
    "count": (1, 1),
    "local-name": (0, 1),
    "namespace-uri": (0, 1),
    "name": (0, 1),
    "string": (0, 1),
    "concat": (1, None),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "contains": (2, 2),
    "substring-before": (2, 2),
    "substring-after": (2, 2),
    "substring": (2, 3),
    "string-length": (0, 1),
    "normalize-space": (0, 1),
    "translate": (3, 3),
    "boolean": (1, 1),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "lang": (1, 1),
    "number": (0, 1),
    "sum": (1, 1),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "round": (1, 2),
    # ODK XForms
    "selected": (2, 2),
    "selected-at": (2, 2),
    "count-selected": (1, 1),
    "jr:choice-name": (2, 2),
    "jr:itext": (1, 1),
    "regex": (2, 2),
    "coalesce": (2, 2),
    "join": (2, None),
    "substr": (2, 3),
    "count-non-empty": (1, 1),
    "checklist": (2, None),
    "weighted-checklist": (3, None),
    "boolean-from-string": (1, 1),
    "if": (3, 3),
    "int": (1, 1),
    "pow": (2, 2),
    "log": (1, 1),
    "log10": (1, 1),
    "abs": (1, 1),
    "sin": (1, 1),
    "cos": (1, 1),
    "tan": (1, 1),
    "asin": (1, 1),
    "acos": (1, 1),
    "atan": (1, 1),
    "atan2": (2, 2),
    "sqrt": (1, 1),
    "exp": (1, 1),
    "exp10": (1, 1),
    "pi": (0, 0),
    "random": (0, 0),
    "min": (1, None),
    "max": (1, None),
    "today": (0, 0),
    "now": (0, 0),
    "date": (1, 1),
    "date-time": (1, 1),
    "decimal-date-time": (1, 1),
    "decimal-time": (1, 1),
    "format-date": (2, 2),
    "format-date-time": (2, 2),
    "uuid": (0, 1),
    "digest": (2, 3),
    "base64-decode": (1, 1),
    "once": (1, 1),
    "instance": (1, 1),
    "current": (0, 0),
    "area": (1, 1),
    "distance": (1, None),
    "geofence": (2, 2),
    "randomize": (1, 2),
    "indexed-repeat": (3, None),
    "pulldata": (4, 4),
    "version": (0, 0),
    "extract-signed": (2, 2),
}
_NODE_TYPES = {"node", "text", "comment", "processing-instruction"}
_AXES = {
    "ancestor",
    "ancestor-or-self",
    "attribute",
    "child",
    "descendant",
    "descendant-or-self",
    "following",
    "following-sibling",
    "namespace",
    "parent",
    "preceding",
    "preceding-sibling",
    "self",
}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(T.*)?$")

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<op>\.\.|::|//|!=|<=|>=|[()\[\].@,/|+=<>*-])
  | (?P<var>\$[A-Za-z_][\w.-]*)
  | (?P<name>[A-Za-z_][\w.-]*(?::(?:[A-Za-z_][\w.-]*|\*))?)
  )""",
    re.VERBOSE,
)


class XPathProblem(Exception):
    """What is wrong with an expression, in words."""


@dataclass
class Finding:
    """A refused expression: which attribute of which node, what is wrong, and the expression."""

    node: str
    attribute: str
    message: str
    expression: str


def _tokens(source: str) -> list[tuple[str, str]]:
    out, pos, source = [], 0, source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise XPathProblem(f"cannot read the expression from “{source[pos : pos + 20]}”")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    # XPath's lexical rule: after an operand, `*` is multiplication and and/or/div/mod are operators.
    fixed = []
    for kind, text in out:
        prev = fixed[-1] if fixed else None
        operand_before = (
            prev is not None
            and not (prev[0] == "op" and prev[1] not in (")", "]", ".", "..", "*"))
            and prev[0] != "opname"
        )
        if prev and prev == ("mul", "*"):
            operand_before = False
        if operand_before and kind == "name" and text in ("and", "or", "div", "mod"):
            kind = "opname"
        elif operand_before and kind == "op" and text == "*":
            kind = "mul"
        elif kind == "op" and text == "*":
            kind = "name"
        fixed.append((kind, text))
    return fixed


class _Parser:
    """Recursive descent over XPath 1.0 (expressions, location paths, predicates, function calls)."""

    def __init__(self, source: str):
        self.toks = _tokens(source)
        self.i = 0
        self.source = source

    def peek(self, *values, kind: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, text = self.toks[self.i]
        return (kind is None or k == kind) and (not values or text in values)

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise XPathProblem("the expression ends too early")
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, value: str) -> None:
        if not self.peek(value):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise XPathProblem(f"expected “{value}” but found “{got}”")
        self.take()

    def parse(self):
        if not self.toks:
            raise XPathProblem("the expression is empty")
        node = self.expr()
        if self.i != len(self.toks):
            raise XPathProblem(f"unexpected “{self.toks[self.i][1]}”")
        return node

    _LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def expr(self, level: int = 0):
        if level == len(self._LEVELS):
            return self.unary()
        node = self.expr(level + 1)
        while (
            self.i < len(self.toks)
            and self.toks[self.i][0] in ("op", "opname", "mul")
            and self.toks[self.i][1] in self._LEVELS[level]
        ):
            op = self.take()[1]
            node = ("bin", op, node, self.expr(level + 1))
        return node

    def unary(self):
        if self.peek("-", kind="op"):
            self.take()
            return ("neg", self.unary())
        node = self.path()
        while self.peek("|", kind="op"):
            self.take()
            node = ("union", node, self.path())
        return node

    def path(self):
        kind, text = self.toks[self.i] if self.i < len(self.toks) else ("end", "")
        if (
            kind in ("num", "str", "var")
            or (kind == "op" and text == "(")
            or (kind == "name" and self._next_is("(") and text not in _NODE_TYPES)
        ):
            node = self.filter()
            if self.peek("/", "//", kind="op"):
                self.take()
                self.relative()
            return node
        if self.peek("/", kind="op"):
            self.take()
            if self._step_starts():
                self.relative()
            return ("path",)
        if self.peek("//", kind="op"):
            self.take()
            self.relative()
            return ("path",)
        self.relative()
        return ("path",)

    def _next_is(self, value: str) -> bool:
        return self.i + 1 < len(self.toks) and self.toks[self.i + 1][1] == value

    def _step_starts(self) -> bool:
        return self.peek(".", "..", "@", kind="op") or self.peek(kind="name")

    def relative(self):
        self.step()
        while self.peek("/", "//", kind="op"):
            self.take()
            self.step()

    def step(self):
        if self.peek(".", "..", kind="op"):
            self.take()
            return
        if self.peek("@", kind="op"):
            self.take()
        elif self.peek(kind="name") and self._next_is("::"):
            axis = self.take()[1]
            if axis not in _AXES:
                raise XPathProblem(f"“{axis}” is not an XPath axis")
            self.take()
        if not self.peek(kind="name"):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise XPathProblem(f"expected a field or a value but found “{got}”")
        name = self.take()[1]
        if name in _NODE_TYPES and self.peek("("):
            self.take()
            if self.peek(kind="str"):
                self.take()
            self.expect(")")
        while self.peek("[", kind="op"):
            self.take()
            self.expr()
            self.expect("]")

    def filter(self):
        kind, text = self.take()
        if kind == "num":
            node = ("num", text)
        elif kind == "str":
            node = ("str", text[1:-1])
        elif kind == "var":
            node = ("path",)
        elif text == "(":
            node = self.expr()
            self.expect(")")
        else:
            self.take()  # (
            args = []
            if not self.peek(")"):
                args.append(self.expr())
                while self.peek(",", kind="op"):
                    self.take()
                    args.append(self.expr())
            self.expect(")")
            node = ("call", text, args)
        while self.peek("[", kind="op"):
            self.take()
            self.expr()
            self.expect("]")
            node = ("path",)
        return node


def _check_tree(node) -> None:
    kind = node[0]
    if kind == "call":
        name, args = node[1], node[2]
        if name not in FUNCTIONS:
            raise XPathProblem(f"“{name}()” is not a function tablets know (ODK XForms)")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            want = str(low) if low == high else (f"at least {low}" if high is None else f"{low} to {high}")
            raise XPathProblem(f"“{name}()” takes {want} argument{'s' if want != '1' else ''}, not {len(args)}")
        if name == "date" and args and args[0][0] == "str" and not _DATE_RE.match(args[0][1]):
            raise XPathProblem(f"“{args[0][1]}” is not a date (write yyyy-mm-dd)")
        for arg in args:
            _check_tree(arg)
    elif kind == "bin":
        if node[1] in ("+", "-", "*", "div", "mod"):
            for side in (node[2], node[3]):
                if side[0] == "str" and not re.fullmatch(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*", side[1]):
                    raise XPathProblem(f"“{side[1]}” is text, not a number, in arithmetic ({node[1]})")
        _check_tree(node[2])
        _check_tree(node[3])
    elif kind == "neg":
        _check_tree(node[1])
    elif kind == "union":
        _check_tree(node[1])
        _check_tree(node[2])


def check_expression(source: str) -> None:
    """Raise XPathProblem if a tablet would refuse the expression (syntax, function, arguments, types)."""
    _check_tree(_Parser(source).parse())


#: Attributes that hold an XPath expression, by element (local names; jr: and odk: attributes included).
_EXPRESSION_ATTRS = {
    "bind": (
        "relevant",
        "constraint",
        "calculate",
        "required",
        "readonly",
        "{http://openrosa.org/javarosa}requiredMsg",
    ),
    "itemset": ("nodeset",),
    "output": ("value",),
    "setvalue": ("value",),
    "setgeopoint": (),
    "repeat": ("{http://openrosa.org/javarosa}count",),
}
_NOT_XPATH = {"{http://openrosa.org/javarosa}requiredMsg"}


def check_xform(xml: str) -> list[Finding]:
    """Return every expression of the XForm that a tablet would refuse, with the node it belongs to."""
    root = ElementTree.fromstring(xml)
    findings = []
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        for attribute in _EXPRESSION_ATTRS.get(local, ()):
            value = element.get(attribute)
            if value is None or attribute in _NOT_XPATH or (local == "bind" and value.strip() in ("true()", "false()")):
                continue
            try:
                check_expression(value)
            except XPathProblem as exc:
                node = element.get("nodeset") or element.get("ref") or element.get("event") or local
                name = attribute.rsplit("}", 1)[-1]
                findings.append(Finding(node=node, attribute=name, message=str(exc), expression=value))
    return findings
