"""Parse the XPath of XLSForm expressions into small trees of tuples, for the handbook's sentences."""

from __future__ import annotations

import re


class Untranslatable(Exception):
    """The expression uses something the translator does not know; quote it instead."""


_TOKEN_RE = re.compile(
    r"""
    \s*(?:
      (?P<ref>\$\{\s*[A-Za-z_][\w.-]*\s*\})
    | (?P<inst>instance\(\s*(?:'[^']*'|"[^"]*")\s*\)(?:/[A-Za-z_][\w:-]*)*)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<num>\d+(?:\.\d+)?|\.\d+)
    | (?P<op>!=|<=|>=|=|<|>|\+|\*|\(|\)|,|-)
    | (?P<name>[A-Za-z_][\w-]*(?::[A-Za-z_][\w-]*)?)
    | (?P<dot>\.)
    )""",
    re.VERBOSE,
)


def _tokens(source: str) -> list[tuple[str, str, int, int]]:
    out, pos = [], 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(source, pos)
        if match is None or match.end() == pos:
            raise Untranslatable(source)
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind), match.end()))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent over XPath 1.0's precedence: or, and, equality, relational, additive, unary."""

    def __init__(self, source: str):
        self.source = source
        self.toks = _tokens(source)
        self.i = 0

    def peek(self, *values) -> bool:
        if self.i >= len(self.toks):
            return False
        kind, text, *_ = self.toks[self.i]
        return text in values and kind in ("op", "name")

    def take(self):
        if self.i >= len(self.toks):
            raise Untranslatable(self.source)
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, value: str) -> None:
        if not self.peek(value):
            raise Untranslatable(self.source)
        self.take()

    def parse(self):
        node = self.binary(0)
        if self.i != len(self.toks):
            raise Untranslatable(self.source)
        return node

    _LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def binary(self, level: int):
        if level == len(self._LEVELS):
            return self.unary()
        start = self._pos()
        node = self.binary(level + 1)
        while self.peek(*self._LEVELS[level]):
            op = self.take()[1]
            right = self.binary(level + 1)
            node = ("bin", op, node, right, self._span(start))
        return node

    def unary(self):
        start = self._pos()
        if self.peek("-"):
            self.take()
            return ("neg", self.unary(), self._span(start))
        return self.primary()

    def primary(self):
        start = self._pos()
        kind, text, *_ = self.take()
        if kind == "ref":
            return ("ref", text[2:-1].strip(), self._span(start))
        if kind == "str":
            return ("str", text[1:-1], self._span(start))
        if kind == "num":
            return ("num", text, self._span(start))
        if kind == "dot":
            return ("self", self._span(start))
        if kind == "inst":
            return ("inst", re.search(r"['\"]([^'\"]*)['\"]", text).group(1), self._span(start))
        if kind == "op" and text == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if kind == "name" and self.peek("("):
            self.take()
            args = []
            if not self.peek(")"):
                args.append(self.binary(0))
                while self.peek(","):
                    self.take()
                    args.append(self.binary(0))
            self.expect(")")
            return ("call", text, args, self._span(start))
        if kind == "name" and text not in ("and", "or", "div", "mod"):
            return ("col", text, self._span(start))  # a column of the choices, in a choice filter
        raise Untranslatable(self.source)

    def _pos(self) -> int:
        return self.toks[self.i][2] if self.i < len(self.toks) else len(self.source)

    def _span(self, start: int) -> str:
        end = self.toks[self.i - 1][3] if self.i else start
        return self.source[start:end].strip()


def parse(source: str):
    """Parse an expression into a small tree of tuples.

    :raise Untranslatable: the text is not an expression this parser knows.
    """
    return _Parser(source).parse()
