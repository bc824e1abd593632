"""Normalise Lao telephone numbers as officers type them (+856, trunk zero, Lao digits, separators)."""

from __future__ import annotations

import re

from ingest.persons.matching.lao import LAO_DIGITS

_NOT_DIGIT = re.compile(r"\D")
COUNTRY = "856"


def normalise_phone(text: str | None) -> str:
    """Return the national number without trunk zero (``2023578879``), or "" when there is none."""
    if not text:
        return ""
    digits = _NOT_DIGIT.sub("", text.translate(LAO_DIGITS))
    if digits.startswith("00" + COUNTRY):
        digits = digits[5:]
    elif digits.startswith(COUNTRY) and len(digits) > 10:
        digits = digits[3:]
    digits = digits.lstrip("0")
    # Shorter than a landline number: a fragment, too weak to compare.
    return digits if len(digits) >= 7 else ""
