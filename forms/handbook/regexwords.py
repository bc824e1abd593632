"""Say what a regular expression of a form accepts, in Lao and English ("two digits, a dash (-), then ...").

Only the patterns forms really use are described: anchors, literal characters, character classes of ranges,
`\\d` and `.`, each with `?`, `*`, `+` or `{n}`, `{n,m}`, `{n,}`. A group of plain alternatives, `(P|ID)`, is said
too; other groups, alternatives and negated classes return None: the caller then prints the raw pattern as a footnote.
"""

from __future__ import annotations

import re

#: Small counts are written as words in English.
NUMBERS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
}

#: Literal characters by name: (English singular, Lao).
CHARACTERS = {
    "-": ("a dash (-)", "ຂີດ (-)"),
    "+": ("a plus sign (+)", "ເຄື່ອງໝາຍບວກ (+)"),
    ".": ("a full stop (.)", "ຈຸດ (.)"),
    "/": ("a slash (/)", "ຂີດອຽງ (/)"),
    " ": ("a space", "ຍະຫວ່າງ"),
    "@": ("an at sign (@)", "ເຄື່ອງໝາຍ @"),
    "_": ("an underscore (_)", "ຂີດກ້ອງ (_)"),
    ":": ("a colon (:)", "ຈ້ຳສອງເມັດ (:)"),
    ",": ("a comma (,)", "ຈຸດ (,)"),
}

_ESCAPES = {"d": [("0", "9")], "w": [("0", "9"), ("a", "z"), ("A", "Z"), ("_", "_")]}


class _Unsaid(Exception):
    pass


def _class(body: str) -> list[tuple[str, str]]:
    """Read the inside of [...] into ranges."""
    if body.startswith("^") or not body:
        raise _Unsaid
    ranges, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                ranges += _ESCAPES[nxt]
                i += 2
                continue
            char, i = nxt, i + 1
        if i + 2 < len(body) and body[i + 1] == "-":
            ranges.append((char, body[i + 2]))
            i += 3
        else:
            ranges.append((char, char))
            i += 1
    return ranges


def _noun(ranges: list[tuple[str, str]]) -> tuple[str, str, str, str, str]:
    """Name a class: (English singular, English plural, Lao noun, English qualifier, Lao qualifier)."""
    spans = sorted(set(ranges))
    space = (" ", " ") in spans
    spans = [r for r in spans if r != (" ", " ")]
    digits = [r for r in spans if r[0].isdigit() and r[1].isdigit()]
    lower = [r for r in spans if r[0].islower() and r[1].islower()]
    upper = [r for r in spans if r[0].isupper() and r[1].isupper()]
    rest = [r for r in spans if r not in digits + lower + upper]
    if rest or not spans:
        listed = " ".join(a if a == b else f"{a}-{b}" for a, b in spans) + (" and space" if space else "")
        return "character", "characters", "ຕົວອັກສອນ", f"from {listed}", f"ຈາກ {listed}"
    # a-f and A-F say the same letters: name them once, in small letters
    letters = sorted(set(lower) | {(a.lower(), b.lower()) for a, b in upper})
    case = "" if (lower and upper) else ("small " if lower else "capital ")
    lo_case = "" if (lower and upper) else ("ນ້ອຍ" if lower else "ໃຫຍ່")
    parts = [
        f"{a}-{b}" if a != b else a for a, b in digits + (lower if case == "small " else upper if case else letters)
    ]
    if digits and letters:
        one, many, lao = f"{case}letter or digit", f"{case}letters or digits", f"ຕົວອັກສອນ{lo_case} ຫຼື ຕົວເລກ"
    elif digits:
        one, many, lao = "digit", "digits", "ຕົວເລກ"
        if digits == [("0", "9")]:
            parts = []
    else:
        one, many, lao = f"{case}letter", f"{case}letters", f"ຕົວອັກສອນ{lo_case}"
        if letters == [("a", "z")]:
            parts = []
    if space:
        one, many, lao = f"{one} or space", f"{many} or spaces", f"{lao} ຫຼື ຍະຫວ່າງ"
    qualifier = " and ".join(parts)
    return (
        one,
        many,
        lao,
        f"from {qualifier}" if parts else "",
        f"ຈາກ {qualifier.replace(' and ', ' ແລະ ')}" if parts else "",
    )


def _items(pattern: str) -> list[tuple]:
    """Split a pattern (without anchors) into (kind, value, low, high) items; high None means no limit."""
    items, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "(":
            # a group of plain alternatives: (P|ID)
            end = pattern.find(")", i)
            options = pattern[i + 1 : end].removeprefix("?:").split("|") if end > 0 else []
            if not options or not all(re.fullmatch(r"[A-Za-z0-9 ]+", o) for o in options):
                raise _Unsaid
            item, i = ("alt", options), end + 1
        elif char in ")|^$*+?{}":
            raise _Unsaid
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise _Unsaid
            item = ("class", _class(pattern[i + 1 : end]))
            i = end + 1
        elif char == "\\":
            if i + 1 >= len(pattern):
                raise _Unsaid
            nxt = pattern[i + 1]
            if nxt in _ESCAPES:
                item = ("class", _ESCAPES[nxt])
            elif nxt.isalnum():
                raise _Unsaid  # \s, \b and friends
            else:
                item = ("char", nxt)
            i += 2
        elif char == ".":
            item, i = ("any", None), i + 1
        else:
            item, i = ("char", char), i + 1
        low, high = 1, 1
        if i < len(pattern) and pattern[i] in "?*+":
            low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[pattern[i]]
            i += 1
        elif i < len(pattern) and pattern[i] == "{":
            match = re.match(r"\{(\d+)(,(\d*))?\}", pattern[i:])
            if not match:
                raise _Unsaid
            low = int(match.group(1))
            high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
            i += match.end()
        if i < len(pattern) and pattern[i] in "?+":
            raise _Unsaid  # lazy or possessive
        items.append((*item, low, high))
    return items


def _count_en(low: int, high, one: str, many: str, qualifier: str) -> str:
    def n(value):
        return NUMBERS.get(value, str(value))

    tail = f" {qualifier}" if qualifier else ""
    if (low, high) == (1, 1):
        article = "an" if one[0] in "aeiou" else "a"
        return f"{article} {one}{tail}"
    if (low, high) == (0, 1):
        return f"an optional {one}{tail}"
    if high is None:
        return f"any number of {many}{tail}" if low == 0 else f"at least {n(low)} {one if low == 1 else many}{tail}"
    if low == high:
        return f"{n(low)} {many}{tail}"
    return f"{n(low)} to {n(high)} {many}{tail}"


def _count_lo(low: int, high, noun: str, qualifier: str) -> str:
    tail = f" {qualifier}" if qualifier else ""
    if (low, high) == (1, 1):
        return f"{noun} 1 ຕົວ{tail}"
    if (low, high) == (0, 1):
        return f"{noun} 1 ຕົວ{tail} (ມີ ຫຼື ບໍ່ມີກໍໄດ້)"
    if high is None:
        return f"{noun}ຈຳນວນໃດກໍໄດ້{tail}" if low == 0 else f"{noun} {low} ຕົວຂຶ້ນໄປ{tail}"
    if low == high:
        return f"{noun} {low} ຕົວ{tail}"
    return f"{noun} {low} ຫາ {high} ຕົວ{tail}"


def _phrase(item) -> dict[str, str]:
    kind, value, low, high = item
    if kind == "char":
        en, lo = CHARACTERS.get(value, (f"“{value}”", f"“{value}”"))
        if (low, high) == (1, 1):
            return {"en": en, "lo": lo}
        one = en.split(" ", 1)[1] if en.startswith(("a ", "an ")) else en
        if (low, high) == (0, 1):
            return {"en": f"an optional {one}", "lo": f"{lo} (ມີ ຫຼື ບໍ່ມີກໍໄດ້)"}
        return {
            "en": _count_en(low, high, one, f"{one} signs" if "sign" not in one else one, ""),
            "lo": _count_lo(low, high, lo, ""),
        }
    if kind == "alt":
        said = {"en": " or ".join(f"“{o}”" for o in value), "lo": " ຫຼື ".join(f"“{o}”" for o in value)}
        if (low, high) == (1, 1):
            return said
        if (low, high) == (0, 1):
            return {"en": f"optionally {said['en']}", "lo": f"{said['lo']} (ມີ ຫຼື ບໍ່ມີກໍໄດ້)"}
        raise _Unsaid
    if kind == "any":
        return {
            "en": _count_en(low, high, "character of any kind", "characters of any kind", ""),
            "lo": _count_lo(low, high, "ຕົວອັກສອນໃດກໍໄດ້", ""),
        }
    one, many, lao, qualifier, lo_qualifier = _noun(value)
    return {"en": _count_en(low, high, one, many, qualifier), "lo": _count_lo(low, high, lao, lo_qualifier)}


def _merge_literals(items: list[tuple]) -> list[tuple]:
    """Join runs of plain letters and digits ("ID" rather than “I”, then “D”)."""
    out = []
    for item in items:
        if item[0] == "char" and item[2:] == (1, 1) and item[1].isalnum() and out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + item[1], 1, 1)
        elif item[0] == "char" and item[2:] == (1, 1) and item[1].isalnum():
            out.append(("text", item[1], 1, 1))
        else:
            out.append(item)
    return out


def describe(pattern: str) -> dict[str, str] | None:
    """Return {"en": ..., "lo": ...} saying what the pattern accepts, or None when no sentence fits.

    The sentence completes "the answer is ..." for a pattern anchored at both ends, "the answer starts with
    ...", "ends with ..." or "contains ..." otherwise.
    """
    start, end = pattern.startswith("^"), pattern.endswith("$") and not pattern.endswith("\\$")
    body = pattern[1 if start else 0 : len(pattern) - (1 if end else 0)]
    try:
        items = _merge_literals(_items(body))
    except _Unsaid:
        return None
    if not items:
        return None
    try:
        phrases = [{"en": f"“{i[1]}”", "lo": f"“{i[1]}”"} if i[0] == "text" else _phrase(i) for i in items]
    except _Unsaid:
        return None
    if len(phrases) == 1:
        said = dict(phrases[0])
    else:
        said = {
            "en": ", ".join(p["en"] for p in phrases[:-1]) + ", then " + phrases[-1]["en"],
            "lo": ", ".join(p["lo"] for p in phrases[:-1]) + ", ແລ້ວ " + phrases[-1]["lo"],
        }
    how = {
        (True, True): ("is", "ເປັນ"),
        (True, False): ("starts with", "ເລີ່ມດ້ວຍ"),
        (False, True): ("ends with", "ລົງທ້າຍດ້ວຍ"),
        (False, False): ("contains", "ມີ"),
    }[(start, end)]
    return {"en": f"{how[0]} {said['en']}", "lo": f"{how[1]} {said['lo']}"}
