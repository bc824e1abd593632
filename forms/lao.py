"""Lao line breaking by words: Lao is written without spaces, so printed lines may only break between words.

ICU's dictionary word breaker (PyICU, package pyicu-wheels) splits each run of Lao letters into words. The
printed text then carries U+200B ZERO WIDTH SPACE between two Lao words (a break opportunity) and
U+2060 WORD JOINER between the grapheme clusters inside a word (no break opportunity), so that the
renderer, which would otherwise break Lao anywhere between clusters, breaks only between words.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import icu

ZWSP = "\u200b"
WJ = "\u2060"
#: A run of Lao letters, marks and digits (the Lao block), with the joiners this module inserts.
LAO_RUN = re.compile("[\u0e80-\u0eff\u200b\u2060]*[\u0e80-\u0eff][\u0e80-\u0eff\u200b\u2060]*")
_LAO_LETTER = re.compile("[\u0e80-\u0eff]")
_local = threading.local()


def _iterators():
    """ICU break iterators are not thread-safe: one pair per thread (gunicorn threads print in parallel)."""
    its = getattr(_local, "its", None)
    if its is None:
        locale = icu.Locale("lo")
        its = _local.its = (
            icu.BreakIterator.createWordInstance(locale),
            icu.BreakIterator.createCharacterInstance(locale),
        )
    return its


def _spans(iterator, text: str) -> list[str]:
    # Lao is in the Basic Multilingual Plane, so ICU's UTF-16 offsets are Python's string offsets here.
    iterator.setText(text)
    out, prev = [], 0
    for end in iterator:
        out.append(text[prev:end])
        prev = end
    return out


@lru_cache(maxsize=8192)
def words(run: str) -> tuple[str, ...]:
    """Split a run of Lao text (no joiners) into words with ICU's Lao dictionary."""
    return tuple(_spans(_iterators()[0], run))


@lru_cache(maxsize=8192)
def _joined(run: str) -> str:
    clusters = _iterators()[1]
    return ZWSP.join(WJ.join(_spans(clusters, word)) for word in words(run))


def mark_breaks(text: str) -> str:
    """Return the text with its Lao runs marked: ZWSP between words, WORD JOINER inside them.

    Idempotent: joiners already present are removed before the run is segmented again.
    """
    if not _LAO_LETTER.search(text):
        return text
    return LAO_RUN.sub(lambda m: _joined(m.group(0).replace(ZWSP, "").replace(WJ, "")), text)


def strip_marks(text: str) -> str:
    """Remove what mark_breaks inserted."""
    return text.replace(ZWSP, "").replace(WJ, "")


_TEXT_NODE = re.compile(r">([^<>]+)<")


def mark_html(html: str) -> str:
    """Mark the Lao in every text node of an HTML document (tags and attributes are left as they are)."""
    return _TEXT_NODE.sub(lambda m: ">" + mark_breaks(m.group(1)) + "<", html)
