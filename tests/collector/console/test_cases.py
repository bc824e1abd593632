"""The console's case register, hand-off tasks and duplicate-person review queue (issue 18 page 4): the
service's scope, redaction, consent and audit, hostile input answered with pages, and decisions audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from ingest.accounts.users import create_user
from ingest.models import AuditEvent, Case
from ingest.person_models import PersonCandidate, PersonLink
from ingest.persons import identities
from ingest.publishing.versions import ensure_project
from ingest.task_models import Task
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of
from tests.support.persons import SMALL

CASES, TASKS, PERSONS = "/console/projects/1/cases", "/console/projects/1/tasks", "/console/projects/1/persons"
NATIONAL, STATISTICIAN = "national@example.la", "stats@example.la"
LAO = re.compile("[\u0e80-\u0eff]")


@pytest.fixture
def world(app, db_session, staff):
    """Cases 01-a..04-b and 05-00..05-02 with identities; pairs 01-a/02-a (0.98), 03-b/04-b (0.6) and
    05-00/05-01 (0.7); a task owed by 05 and one owed by 01; a national case officer and a statistician."""
    ensure_project(db_session, 1)
    create_user(db_session, NATIONAL, PASSWORD, "case-officer", display_name="National Officer")
    create_user(db_session, STATISTICIAN, PASSWORD, "statistician", display_name="Stats")
    db_session.commit()
    identities.load_person_records(db_session, 1, SMALL[:7])
    db_session.execute(update(Case).values(gender="Female", first_screening_date=datetime(2026, 1, 5).date()))
    evidence = {
        "given": {"level": "Exact match on given_lo", "weight": 5.1},
        "phone": {"level": "All other comparisons", "weight": -1.2},
    }
    for a, b, score in (("01-a", "02-a", 0.98), ("03-b", "04-b", 0.6), ("05-00", "05-01", 0.7)):
        db_session.add(PersonCandidate(project_id=1, case_a=a, case_b=b, score=score, evidence=evidence))
    ids = dict(db_session.execute(select(Case.case_code, Case.id)).all())
    opened = datetime(2026, 11, 20, tzinfo=UTC)
    for code, home, origin in (("05-02", "05", "13"), ("01-a", "01", "05")):
        db_session.add(
            Task(
                project_id=1,
                case_id=ids[code],
                case_code=code,
                status="open",
                home_province=home,
                origin_province=origin,
                summary="Female; age unknown",
                opened_at=opened,
            )
        )
    db_session.commit()
    return ids


def html(response, status=200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[-600:]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def queued(page: str) -> list[str]:
    """Return the case codes in the queue's table (not in its messages)."""
    table = re.search(r'<table class="data pairs">.*?</table>', page, re.S)
    return re.findall(r"<code>([^<]+)</code>", table.group(0)) if table else []


def pair_id(db_session, a: str) -> int:
    db_session.rollback()
    return db_session.scalar(select(PersonCandidate.id).where(PersonCandidate.case_a == a))


def audits(db_session, action: str) -> list[AuditEvent]:
    db_session.rollback()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_register_lists_cases_with_the_api_filters_and_key_pages(client, world, db_session):
    console_sign_in(client, NATIONAL)
    page = html(client.get(f"{CASES}?lang=en"))
    assert all(code in page for code in ("01-a", "04-b", "05-02")) and "Case register" in page
    only = html(client.get(f"{CASES}?province=05&gender=Female&year=2026"))
    assert "05-01" in only and "01-a" not in only
    assert "01-a" not in html(client.get(f"{CASES}?year=2025"))
    assert audits(db_session, "case.list")[-1].details["filters"] == ["year"]
    # Empty fields of the form are no filter; the pager keeps the filters.
    assert "01-a" in html(client.get(f"{CASES}?province=&gender=&year="))
    assert "Next page" not in page


def test_register_pages_follow_the_cursor(client, world, monkeypatch):
    from collector.console.views import cases

    monkeypatch.setattr(cases, "PAGE", 3)
    console_sign_in(client, NATIONAL)
    first = html(client.get(f"{CASES}?lang=en&gender=Female"))
    link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "gender=Female" in link and "cursor=" in link
    second = html(client.get(link))
    assert "First page" in second and "01-a" in first and "01-a" not in second


@pytest.mark.parametrize(
    "query",
    [
        "?nosuch=1",
        "?year=abc",
        "?year=99999",
        "?cursor=x",
        "?cursor=" + "9" * 200,
        "?province=" + "x" * 500,
        "?gender=%00",
    ],
)
def test_garbage_filters_get_a_page_with_400(client, world, query):
    console_sign_in(client, NATIONAL)
    page = html(client.get(CASES + query), 400)
    assert LAO.search(page) and "Traceback" not in page


def test_tasks_list_state_scoped_to_the_officers_province(app, client, world, db_session):
    console_sign_in(client, OFFICER)
    page = html(client.get(f"{TASKS}?lang=en"))
    assert "05-02" in page and "01-a" not in page and "open" in page
    assert "05-02" not in html(client.get(f"{TASKS}?status=closed"))
    for query in ("?status=nosuch", "?province=99", "?cursor=abc", "?province=" + "0" * 300):
        html(client.get(TASKS + query), 400)
    national = app.test_client()
    console_sign_in(national, NATIONAL)
    page = html(national.get(TASKS))
    assert "05-02" in page and "01-a" in page
    assert "05-02" not in html(national.get(f"{TASKS}?province=01"))


def test_an_officer_of_05_never_sees_01s_cases_tasks_or_pairs(client, world, db_session):
    console_sign_in(client, OFFICER)
    cases = html(client.get(CASES))
    assert "05-00" in cases and not re.search(r"\b0[1-4]-[ab]\b", cases)
    assert "01-a" not in html(client.get(f"{CASES}?province=01"))
    queue = html(client.get(PERSONS))
    assert "05-00" in queue and "01-a" not in queue and "03-b" not in queue
    assert "01-a" not in html(client.get(f"{PERSONS}?province=01"))
    # Another province's pair: the same page as a pair that does not exist, and nothing decided.
    other = pair_id(db_session, "01-a")
    page = html(client.get(f"{PERSONS}/pairs/{other}"), 404)
    assert "Somphone" not in page and "01-a" not in page
    token = csrf_of(client.get(PERSONS))
    html(client.post(f"{PERSONS}/pairs/{other}", data={"csrf_token": token, "decision": "confirm"}), 404)
    html(client.post(f"{PERSONS}/pairs/{other}", data={"csrf_token": token, "decision": "unsure"}), 404)
    db_session.rollback()
    assert db_session.scalar(select(PersonLink.id)) is None


def test_the_queue_is_best_first_and_the_pair_shows_what_agrees_and_differs(client, world, db_session):
    console_sign_in(client, NATIONAL)
    queue = html(client.get(f"{PERSONS}?lang=en"))
    assert queue.index("01-a") < queue.index("05-00") < queue.index("03-b")
    assert "03-b" not in html(client.get(f"{PERSONS}?minScore=0.65"))
    page = html(client.get(f"{PERSONS}/pairs/{pair_id(db_session, '01-a')}"))
    assert "Somphone" in page and "Sompone" in page and "98.0%" in page
    rows = {label: state for state, label in re.findall(r'<tr class="(\w+)">\s*<th scope="row">([^<]+)</th>', page)}
    assert rows["Given name (Lao)"] == "agree" and rows["Given name (Latin)"] == "alike"
    assert rows["Phone"] == "alike" and rows["Home village"] == "alike" and rows["Province of the case"] == "differ"
    assert rows["Birth date"] == "agree" and "alike (spelt differently)" in page
    assert "Exact match on given_lo" in page and "+5.1" in page
    event = audits(db_session, "person.candidates")[-1]
    assert event.details["identities"] == ["01-a", "02-a"]


def test_the_queue_pages_best_first_by_key(client, world, monkeypatch):
    from collector.console.views import persons

    monkeypatch.setattr(persons, "PAGE", 1)
    console_sign_in(client, NATIONAL)
    seen, url = [], f"{PERSONS}?lang=en"
    while url:
        page = html(client.get(url))
        seen += queued(page)[:1]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ["01-a", "05-00", "03-b"]


def test_confirm_leaves_the_queue_is_audited_and_deciding_twice_is_a_404_page(client, world, db_session):
    console_sign_in(client, OFFICER)
    pid = pair_id(db_session, "05-00")
    page = client.get(f"{PERSONS}/pairs/{pid}")
    token = csrf_of(page)
    done = client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": "confirm"})
    assert done.status_code == 302 and done.headers["Location"].endswith(PERSONS)
    queue = html(client.get(PERSONS))
    assert "05-00" not in queued(queue) and LAO.search(queue)
    assert "05-00" in queue  # the flash says what was decided
    (event,) = audits(db_session, "person.confirm")
    assert event.resource == "project:1/persons/05-00/05-01" and event.details["person"] == "05-00"
    # The page's read is audited once (its GET), the decision's look-up of the codes is not a read.
    assert [e.details.get("pair") for e in audits(db_session, "person.candidates")] == [pid, None]
    db_session.rollback()
    assert db_session.scalar(select(PersonLink.state)) == "confirmed"
    again = html(client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": "confirm"}), 404)
    assert LAO.search(again)
    assert len(audits(db_session, "person.confirm")) == 1


def test_not_sure_keeps_the_pair_and_is_audited_reject_removes_it(client, world, db_session):
    console_sign_in(client, NATIONAL)
    pid = pair_id(db_session, "03-b")
    token = csrf_of(client.get(f"{PERSONS}/pairs/{pid}"))
    assert client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": "unsure"}).status_code == 302
    (event,) = audits(db_session, "person.unsure")
    assert event.resource == "project:1/persons/03-b/04-b"
    assert "03-b" in queued(html(client.get(PERSONS)))
    assert client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": "reject"}).status_code == 302
    assert len(audits(db_session, "person.reject")) == 1
    db_session.rollback()
    assert db_session.scalar(select(PersonCandidate.id).where(PersonCandidate.id == pid)) is None


@pytest.mark.parametrize("decision", ["", "maybe", "CONFIRM", "confirm " * 50, "\x00"])
def test_a_decision_not_offered_is_a_400_page(client, world, db_session, decision):
    console_sign_in(client, NATIONAL)
    pid = pair_id(db_session, "01-a")
    token = csrf_of(client.get(PERSONS))
    html(client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": decision}), 400)
    db_session.rollback()
    assert db_session.scalar(select(PersonLink.id)) is None


def test_without_the_csrf_token_nothing_is_decided(client, world, db_session):
    console_sign_in(client, NATIONAL)
    pid = pair_id(db_session, "01-a")
    for data in ({"decision": "confirm"}, {"decision": "confirm", "csrf_token": "forged"}):
        html(client.post(f"{PERSONS}/pairs/{pid}", data=data), 400)
    db_session.rollback()
    assert db_session.scalar(select(PersonLink.id)) is None


@pytest.mark.parametrize("path", ["/pairs/999999", "/pairs/99999999999999", "/pairs/-1", "/pairs/abc"])
def test_unknown_pairs_are_404_pages(client, world, path):
    console_sign_in(client, NATIONAL)
    html(client.get(PERSONS + path), 404)


def test_hostile_queue_filters_are_400_pages(client, world):
    console_sign_in(client, NATIONAL)
    for query in ("?minScore=high", "?minScore=nan", "?minScore=2", "?province=99", "?cursor=0.5_x", "?cursor=zz"):
        html(client.get(PERSONS + query), 400)
    assert "No such project" not in html(client.get("/console/projects/99/persons"), 404)


def test_withheld_cases_leave_the_queue_of_roles_without_that_right(client, world, db_session):
    db_session.execute(update(Case).where(Case.case_code == "01-a").values(consent_sharing=False))
    db_session.commit()
    console_sign_in(client, NATIONAL)  # a case officer has no withheld right
    assert "01-a" not in html(client.get(PERSONS))
    html(client.get(f"{PERSONS}/pairs/{pair_id(db_session, '01-a')}"), 404)


@pytest.mark.parametrize(
    "who, allowed",
    [
        (ANALYST, {CASES}),
        (STATISTICIAN, set()),
        (TRAINER, set()),
    ],
)
def test_roles_without_the_rights_are_refused(client, world, db_session, who, allowed):
    console_sign_in(client, who)
    for path in (CASES, TASKS, PERSONS, f"{PERSONS}/pairs/{pair_id(db_session, '01-a')}"):
        assert client.get(path).status_code == (200 if path in allowed else 403), path
    token = csrf_of(client.get("/console/projects/1/forms"))
    pid = pair_id(db_session, "01-a")
    html(client.post(f"{PERSONS}/pairs/{pid}", data={"csrf_token": token, "decision": "confirm"}), 403)
    db_session.rollback()
    assert db_session.scalar(select(PersonLink.id)) is None


def test_every_filter_of_the_register_is_on_the_form():
    from collector.console.views.cases import CASE_FILTERS
    from ingest.cases.register import FILTERS, LIST_FILTERS

    assert {name for name, _key in CASE_FILTERS} == {*FILTERS, *LIST_FILTERS, "year"}


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    for path in (CASES, TASKS, PERSONS, f"{PERSONS}/pairs/1"):
        assert client.get(path).status_code == 302
