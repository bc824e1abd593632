"""Find where the printed lines of a PDF break inside a Lao word, checked with the printer's own word breaker.

Text extraction damages Lao a little: it puts spaces after some marks, reads ຳ back as ໍ + າ and may drop a
lone ໍ. So each line break is looked up in the source text (the HTML the PDF was laid out from), compared on a
key without spaces or ໍ, and the break must fall where the source has a word boundary or a space.
"""

from __future__ import annotations

import html as htmllib
import io
import re
import unicodedata

from pypdf import PdfReader

from forms.lao import LAO_RUN, strip_marks, words

_LAO = "\u0e80-\u0eff"
_TAIL = re.compile(f"[{_LAO}]+$")
_HEAD = re.compile(f"^[{_LAO}]+")
_TEXT_NODE = re.compile(r">([^<>]+)<")


def key(text: str) -> str:
    """Reduce text to what survives extraction: NFKC, no whitespace, no ໍ."""
    return re.sub(r"[\s\u0ecd\u200b\u2060]+", "", unicodedata.normalize("NFKC", text))


class Source:
    """The source text of a document as one key string, with the key offsets of its word boundaries."""

    def __init__(self, html: str):
        nodes = [strip_marks(htmllib.unescape(m.group(1))) for m in _TEXT_NODE.finditer(html)]
        parts, self.boundaries, at = [], set(), 0
        for text in "\n".join(nodes).split():  # a space is a boundary
            self.boundaries.add(at)
            for piece in re.split(f"({LAO_RUN.pattern})", text):
                if not piece:
                    continue
                segments = words(piece) if LAO_RUN.fullmatch(piece) else (piece,)
                for segment in segments:
                    self.boundaries.add(at)
                    k = key(segment)
                    parts.append(k)
                    at += len(k)
                self.boundaries.add(at)
        self.text = "".join(parts)

    def is_boundary(self, before: str, after: str) -> bool | None:
        """Whether some place in the source where `before` meets `after` is a word boundary (None: not found)."""
        joined, cut = key(before) + key(after), len(key(before))
        found = None
        for match in re.finditer(re.escape(joined), self.text):
            found = False
            if match.start() + cut in self.boundaries:
                return True
        return found


def lao_breaks(pdf: bytes, html: str) -> tuple[int, list[str]]:
    """Return how many line breaks fall between two Lao letters, and those that fall inside a word."""
    source = Source(html)
    count, inside = 0, []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        lines = [re.sub(r"\s+$", "", unicodedata.normalize("NFC", line)) for line in page.extract_text().splitlines()]
        for before, after in zip(lines, lines[1:]):
            tail, head = _TAIL.search(before.replace(" ", "")), _HEAD.search(after.replace(" ", ""))
            if not tail or not head:
                continue
            found = source.is_boundary(tail.group(0), head.group(0))
            if found is None:  # not one text wrapped: a cell beside another, or a page's running title
                continue
            count += 1
            if not found:
                inside.append(f"{before[-15:]} | {after[:15]}")
    return count, inside
