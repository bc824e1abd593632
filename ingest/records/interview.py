"""Read ODK Collect's audit log of an interview (the `audit.csv` a form with an `audit` question sends):
how long the interviewer stayed on each question, so that a rushed or invented interview shows.

Collect writes one line per event: `event,node,start,end` (times in milliseconds since 1970), with more
columns when the form asks for them (location, old and new values, user, reason). Only the question
events' node and times are read here: the old and new values may quote what a victim said, and no page
shows them.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field

#: The name Collect gives the file.
AUDIT_FILE = "audit.csv"
#: Events that time a question on screen (one question, or a group shown on one screen).
QUESTION_EVENTS = ("question", "group questions")
#: Largest audit log read (a long interview's log is a few hundred kilobytes).
MAX_AUDIT_BYTES = 5 * 1024 * 1024
#: An interview whose typical question took less than this many seconds is flagged as rushed.
RUSHED_SECONDS = 3.0
#: A single question answered in less than this many seconds is marked fast.
FAST_SECONDS = 1.0


class AuditUnreadable(ValueError):
    """The file is not an audit log Collect writes (too large, not text, no event and node columns)."""


@dataclass
class QuestionTime:
    """The time spent on one question (its node path), over every visit."""

    node: str
    seconds: float = 0.0
    visits: int = 0

    @property
    def fast(self) -> bool:
        """Answered in less than FAST_SECONDS over all visits."""
        return self.seconds < FAST_SECONDS


@dataclass
class Interview:
    """What an audit log says of an interview."""

    questions: list[QuestionTime] = field(default_factory=list)
    #: from the first event's start to the last event's end, in seconds (None: no timed event).
    total_seconds: float | None = None
    #: the median time per question, in seconds (None: no question timed).
    median_seconds: float | None = None

    @property
    def rushed(self) -> bool:
        """The typical question took less than RUSHED_SECONDS."""
        return self.median_seconds is not None and self.median_seconds < RUSHED_SECONDS


def _millis(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 16 else None


def read_interview(data: bytes) -> Interview:
    """Read an audit log's question times, in the order the questions were first shown.

    :raise AuditUnreadable: the file is too large, not UTF-8 text, or has no `event` and `node` columns.
    """
    if len(data) > MAX_AUDIT_BYTES:
        raise AuditUnreadable("the audit log is larger than an interview's")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AuditUnreadable("the audit log is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"event", "node", "start"} <= set(reader.fieldnames):
        raise AuditUnreadable("the audit log has no event, node and start columns")
    by_node: dict[str, QuestionTime] = {}
    first = last = None
    try:
        for row in reader:
            start, end = _millis(row.get("start")), _millis(row.get("end"))
            if start is not None:
                first = start if first is None else min(first, start)
                last = max(last or start, end or start)
            if row.get("event") not in QUESTION_EVENTS or start is None or end is None or end < start:
                continue
            node = (row.get("node") or "").strip()[:500]
            timed = by_node.setdefault(node, QuestionTime(node))
            timed.seconds += (end - start) / 1000
            timed.visits += 1
    except csv.Error:
        raise AuditUnreadable("the audit log is not CSV") from None
    questions = list(by_node.values())
    return Interview(
        questions=questions,
        total_seconds=(last - first) / 1000 if first is not None and last is not None else None,
        median_seconds=statistics.median(q.seconds for q in questions) if questions else None,
    )
