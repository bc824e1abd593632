"""Normalise Lao text so that the same name typed on different keyboards compares equal."""

from __future__ import annotations

import re

# Characters that keyboards, copy-paste and word processors insert invisibly.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")

HO_NO, HO_MO, SEMIVOWEL_LO = "\u0edc", "\u0edd", "\u0ebc"
NIGGAHITA, SARA_AA, SARA_AM = "\u0ecd", "\u0eb2", "\u0eb3"
CANCELLATION = "\u0ecc"
TONES = "\u0ec8\u0ec9\u0eca\u0ecb"
LAO_DIGITS = str.maketrans("໐໑໒໓໔໕໖໗໘໙", "0123456789")

# Order of the marks stacked on one consonant: the subscript lo, then the vowel sign above or below,
# then the tone mark, then the cancellation mark. Unicode's canonical ordering only fixes the vowels
# below against the tones, so input typed vowel-after-tone would otherwise stay different.
_MARK_RANK = {SEMIVOWEL_LO: 0, CANCELLATION: 3}
_MARK_RANK.update(dict.fromkeys("\u0eb1\u0eb4\u0eb5\u0eb6\u0eb7\u0eb8\u0eb9\u0ebb\u0ecd", 1))
_MARK_RANK.update(dict.fromkeys(TONES, 2))
_MARKS = re.compile("[" + "".join(_MARK_RANK) + "]{2,}")

# Legacy keyboards had no ligatures: HO SUNG followed by NO, MO or LO stands for them.
_LEGACY = [("\u0eab\u0e99", HO_NO), ("\u0eab\u0ea1", HO_MO), ("\u0eab\u0ea5", "\u0eab" + SEMIVOWEL_LO)]
# SARA AM typed as NIGGAHITA + AA, with or without a tone mark between or before them.
_SARA_AM = re.compile(f"([{TONES}]?){NIGGAHITA}([{TONES}]?){SARA_AA}")
# The tone mark belongs before SARA AM (ນ້ຳ), but is often typed after it.
_AM_TONE = re.compile(f"({SARA_AM})([{TONES}])")

# Honorifics written before names (Ms, Mr, Mrs) and the word "village" around village names.
_TITLES = re.compile(r"^(?:ນາງສາວ|ນາງ|ທ້າວ|ທ່ານ|ນ\.|ທ\.)\s*")
_VILLAGE = re.compile(r"^ບ້ານ\s*|\s*ບ້ານ$")

# For the looser spelling key: archaic and Pali-Sanskrit letters, and the letter pairs that Lao
# writers confuse because they sound alike (RO/LO, the long and short vowels).
_ARCHAIC = str.maketrans(
    {
        "ຆ": "ຄ",
        "ຌ": "ຊ",
        "ຎ": "ຍ",
        "ຏ": "ຕ",
        "ຐ": "ຖ",
        "ຑ": "ທ",
        "ຒ": "ທ",
        "ຓ": "ນ",
        "ຘ": "ທ",
        "ຠ": "ພ",
        "ຨ": "ສ",
        "ຩ": "ສ",
        "ຬ": "ລ",
        "ຣ": "ລ",
        "ີ": "ິ",
        "ື": "ຶ",
        "ູ": "ຸ",
    }
)
_SILENT = re.compile(f".{CANCELLATION}")


def _reorder_marks(match: re.Match) -> str:
    return "".join(sorted(match.group(0), key=_MARK_RANK.__getitem__))


def normalise_lao(text: str | None) -> str:
    """Return `text` with Lao encoding variants folded to one canonical spelling."""
    if not text:
        return ""
    text = text.translate(ZERO_WIDTH)
    text = SPACES.sub(" ", text).strip()
    for legacy, ligature in _LEGACY:
        text = text.replace(legacy, ligature)
    text = _SARA_AM.sub(lambda m: m.group(1) + m.group(2) + SARA_AM, text)
    text = _AM_TONE.sub(lambda m: m.group(2) + SARA_AM, text)
    text = _MARKS.sub(_reorder_marks, text)
    return text.translate(LAO_DIGITS)


def strip_title(name: str) -> str:
    """Remove an honorific (ນາງ, ທ້າວ) from the start of a normalised name."""
    return _TITLES.sub("", name).strip()


def normalise_name(text: str | None) -> str:
    """Return a Lao name normalised, without honorifics or spaces."""
    return strip_title(normalise_lao(text)).replace(" ", "")


def normalise_village(text: str | None) -> str:
    """Return a Lao village name normalised, without the word ບ້ານ or spaces."""
    return _VILLAGE.sub("", normalise_lao(text)).replace(" ", "")


def spelling_key(name: str) -> str:
    """Return a looser key of a normalised name: no tone or silent letters, confusable letters merged."""
    name = _SILENT.sub("", name)
    return "".join(c for c in name.translate(_ARCHAIC) if c not in TONES)


def is_lao(text: str | None) -> bool:
    """Tell whether `text` contains any Lao letter."""
    if not text:
        return False
    return any("\u0e81" <= c <= "\u0edf" for c in text)
