"""Reading Collect's audit log of an interview (ingest.records.interview): time per question, a rushed interview
flagged, and files that are not an audit log refused rather than half read."""

from __future__ import annotations

import pytest

from ingest.records.interview import MAX_AUDIT_BYTES, AuditUnreadable, read_interview


def test_time_per_question_adds_every_visit_and_keeps_first_shown_order():
    log = (
        "event,node,start,end,old-value,new-value\n"
        "form start,,1000,,,\n"
        "question,/data/name,1000,6000,,ນາງ ສົມໃຈ\n"
        "question,/data/age,6000,9000,,31\n"
        "jump,,9000,9500,,\n"
        "question,/data/name,9500,11500,ນາງ ສົມໃຈ,ນາງ ສົມໃຈ ແກ້ວ\n"
        "form save,,12000,,,\n"
    )
    interview = read_interview(log.encode())
    assert [(q.node, q.seconds, q.visits) for q in interview.questions] == [
        ("/data/name", 7.0, 2),
        ("/data/age", 3.0, 1),
    ]
    assert interview.total_seconds == 11.0 and interview.median_seconds == 5.0 and not interview.rushed
    # The old and new values (what a victim said) are never kept.
    assert "ສົມໃຈ" not in repr(interview)


def test_a_rushed_interview_is_flagged_and_fast_questions_marked():
    rows = "".join(f"question,/data/q{i},{i * 1000},{i * 1000 + 800}\n" for i in range(10))
    interview = read_interview(("event,node,start,end\n" + rows).encode())
    assert interview.rushed and all(q.fast for q in interview.questions)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00garbage",
        b"not,a,log\n1,2,3\n",
        b"",
        b"event,node,start,end\n" + b"x" * MAX_AUDIT_BYTES,
    ],
)
def test_what_is_not_an_audit_log_is_refused(data):
    with pytest.raises(AuditUnreadable):
        read_interview(data)


def test_bad_times_are_skipped_not_trusted():
    log = "event,node,start,end\nquestion,/data/a,5000,1000\nquestion,/data/b,abc,2000\nquestion,/data/c,1000,3000\n"
    interview = read_interview(log.encode())
    assert [q.node for q in interview.questions] == ["/data/c"]
