"""Fold Latin spellings of Lao names to one key, and romanise Lao script into the same key space."""

from __future__ import annotations

import re
import unicodedata

from ingest.persons.matching.lao import CANCELLATION, TONES, is_lao, normalise_lao, normalise_name

_TITLE = re.compile(r"^(?:nang|thao|tao|mr|mrs|ms|miss|mme|mlle)\b[\s.]+(?=\w)")

# Each step folds one way that French-based, English-phonetic and Thai-influenced spellings (and
# careless typing) write the same Lao sound. Order matters: digraphs before single letters, vowel
# clusters before the doubled-letter collapse.
_FOLD_RULES = [
    (r"([b-df-hj-np-tv-z])\1+", r"\1"),
    (r"ck", "k"),
    (r"q", "k"),
    (r"c(?![haeiouy])", "k"),
    (r"kh", "k"),
    (r"ph", "p"),
    (r"th", "t"),
    (r"sh", "s"),
    (r"ch", "c"),
    (r"j", "c"),
    (r"[xz]", "s"),
    (r"^(?:gn|ny|nh)", "y"),
    (r"(?:gn|ny)(?=[aeiou])", "y"),
    (r"nh(?![aeiou])", "n"),
    (r"ngs$", "ng"),
    (r"orn", "on"),
    (r"er(?![aeiou])", "eu"),
    (r"(?<=[aeiou])r(?![aeiou])", ""),
    (r"r", "l"),
    (r"(?:ae|e)(?:ow|o|w)(?![aeiou])", "eo"),
    (r"aw(?![aeiou])", "ao"),
    (r"w", "v"),
    (r"ou", "u"),
    (r"oo", "u"),
    (r"ee", "i"),
    (r"ie$", "i"),
    (r"ie", "ia"),
    (r"(?:uea|eua|oua|uia)", "ua"),
    (r"eu", "u"),
    (r"ae", "e"),
    (r"ea", "e"),
    (r"(?<=[aeiou])y", "i"),
    (r"y(?![aeiou])", "i"),
    (r"(?<=[aeiou][nm])e(?![aeiou])", ""),
    (r"d(?![aeiou])", "t"),
    (r"b(?![aeiou])", "p"),
    (r"td", "d"),
    (r"(?<!^)h", ""),
    (r"(.)\1+", r"\1"),
]
_FOLDS = [(re.compile(pattern), replacement) for pattern, replacement in _FOLD_RULES]


def fold_latin(name: str | None) -> str:
    """Return the romanisation-independent key of a Latin-script name (Souk and Suk fold alike)."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.strip().lower())
    text = _TITLE.sub("", "".join(c for c in text if not unicodedata.combining(c)))
    text = re.sub(r"[^a-z]", "", text)
    for pattern, replacement in _FOLDS:
        text = pattern.sub(replacement, text)
    return text


# Lao script to a French-style romanisation (the ministry's usual one); only its folded key is used.
_INITIAL = {
    "ກ": "k",
    "ຂ": "kh",
    "ຄ": "kh",
    "ງ": "ng",
    "ຈ": "ch",
    "ສ": "s",
    "ຊ": "x",
    "ຍ": "y",
    "ດ": "d",
    "ຕ": "t",
    "ຖ": "th",
    "ທ": "th",
    "ນ": "n",
    "ບ": "b",
    "ປ": "p",
    "ຜ": "ph",
    "ຝ": "f",
    "ພ": "ph",
    "ຟ": "f",
    "ມ": "m",
    "ຢ": "y",
    "ຣ": "r",
    "ລ": "l",
    "ວ": "v",
    "ຫ": "h",
    "ອ": "",
    "ຮ": "h",
    "ໜ": "n",
    "ໝ": "m",
    "ຆ": "kh",
    "ຌ": "x",
    "ຎ": "gn",
    "ຏ": "t",
    "ຐ": "th",
    "ຑ": "th",
    "ຒ": "th",
    "ຓ": "n",
    "ຘ": "th",
    "ຠ": "ph",
    "ຨ": "s",
    "ຩ": "s",
    "ຬ": "l",
}
# A syllable-final consonant is pronounced as one of few sounds whatever its letter.
_FINAL = {
    "ກ": "k",
    "ຂ": "k",
    "ຄ": "k",
    "ງ": "ng",
    "ນ": "n",
    "ມ": "m",
    "ຍ": "y",
    "ວ": "o",
    "ບ": "b",
    "ປ": "p",
    "ພ": "p",
    "ຟ": "p",
    "ລ": "n",
    "ຣ": "n",
    "ອ": "o",
}
_VOWEL = {
    "ະ": "a",
    "ັ": "a",
    "າ": "a",
    "ຳ": "am",
    "ິ": "i",
    "ີ": "i",
    "ຶ": "eu",
    "ື": "eu",
    "ຸ": "ou",
    "ູ": "ou",
    "ົ": "o",
    "ໍ": "o",
    "ຽ": "ia",
}
_PRE_VOWEL = {"ເ": "e", "ແ": "ae", "ໂ": "o", "ໃ": "ai", "ໄ": "ai"}
_ATTACHED = set(_VOWEL)
_SONORANT_AFTER_HO = set("ງຍນມລວຼ")
_SILENT = re.compile(f".{CANCELLATION}")
_AFTER = [
    (re.compile(pattern), replacement)
    for pattern, replacement in [
        (r"eoa", "ao"),
        (r"e[i](?=[a-z]|$)", "eu"),
        (r"ea(?=[a-z])", "e"),
        (r"ey$", "ia"),
        (r"eeua", "uea"),
        (r"eeu", "eu"),
    ]
]


def _next_mark(text: str, i: int) -> str:
    """Return the character after position `i`, skipping tone marks."""
    i += 1
    while i < len(text) and text[i] in TONES:
        i += 1
    return text[i] if i < len(text) else ""


def romanise_lao(text: str | None) -> str:
    """Return a Latin transcription of Lao-script `text` (letters outside Lao pass through)."""
    text = _SILENT.sub("", normalise_lao(text))
    out: list[str] = []
    # start: expecting an initial consonant; onset: initial seen; nucleus: vowel seen; coda: final seen
    state, pending = "start", ""
    for i, c in enumerate(text):
        after = _next_mark(text, i)
        if c in TONES:
            continue
        if c in _PRE_VOWEL:
            pending, state = _PRE_VOWEL[c], "start"
        elif c == "ຼ":
            out.append("l")
            state = "onset"
        elif c in _VOWEL:
            out.append(_VOWEL[c])
            state = "nucleus"
        elif c in _INITIAL:
            if c == "ຫ" and after in _SONORANT_AFTER_HO and state != "onset":
                # HO SUNG before a sonorant only sets the tone class: it is not pronounced.
                state = "start"
                continue
            if c == "ອ" and state == "nucleus" and out and out[-1] == "eu":
                out.append("a")
                continue
            if c == "ວ" and state == "nucleus" and text[i - 1] == "ົ":
                out[-1] = "ua"
                continue
            # A consonant before a vowel sign, or before ອ/ວ standing for a vowel, starts a syllable.
            initial = state in ("start", "coda") or pending or after in _ATTACHED or after == "ອ"
            if c in "ອວ" and state == "onset" and after not in _ATTACHED:
                out.append("o" if c == "ອ" else "ua")
                state = "nucleus"
            elif initial and not (state == "nucleus" and after not in _ATTACHED and after != "ອ"):
                out.append(_INITIAL[c])
                state = "onset"
                if pending:
                    out.append(pending)
                    pending, state = "", "nucleus"
            else:
                if state == "onset":
                    out.append("o")
                out.append(_FINAL.get(c, "t"))
                state = "coda"
        else:
            out.append(c)
            state = "start"
    result = "".join(out)
    for pattern, replacement in _AFTER:
        result = pattern.sub(replacement, result)
    return result


def name_key(lao: str | None, latin: str | None) -> str:
    """Return the folded Latin key of a name: romanised from Lao script when present, else the Latin."""
    if is_lao(lao):
        return fold_latin(romanise_lao(normalise_name(lao)))
    return fold_latin(latin)
