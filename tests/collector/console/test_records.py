"""The console's submissions pages (issue 18 page 3): the forms with counts, the filtered table with key paging,
and the record page with answers, files, versions and their diff, review, comments and the interview log;
scoped by province, redacted for analysts, audited once through the read service; hostile input answered
with a page in the user's language."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from collector.console.views import record_table
from collector.db import get_store
from forms.lao import strip_marks
from ingest import scope
from ingest.access import SYSTEM
from ingest.accounts.users import assign_forms, create_device, create_user
from ingest.db import begin_write
from ingest.models import AuditEvent, SubmissionAttachment, SubmissionVersion
from ingest.receiving.storing import attach_file
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_instance
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of
from tests.support.openrosa import JPEG, post

SUBMISSIONS = "/console/projects/1/submissions"
TABLE = "/console/projects/1/forms/sample_case/submissions"
NAME = "ນາງ ສົມໃຈ Records"


def one(instance_id: str) -> str:
    return f"{TABLE}/{instance_id}"


def page(response) -> str:
    """The page's HTML without the word-break marks the console puts in Lao text."""
    assert response.mimetype == "text/html", response.mimetype
    return strip_marks(response.get_data(as_text=True))


def audits(db_session, action: str) -> list[AuditEvent]:
    db_session.rollback()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def records(app, client, db_session, published_form, staff):
    """Two records of province 05 (one edited once) and one of 01, sent by each province's tablet."""

    create_user(db_session, ADMIN_EMAIL, ADMIN_PASSWORD, "admin", display_name="Admin")
    create_user(db_session, "statistician@example.la", PASSWORD, "statistician", display_name="Stat")
    tablets = {p: create_device(db_session, 1, f"Tablet {p}", p) for p in ("01", "05")}
    for tablet in tablets.values():
        assign_forms(db_session, tablet, None)
    db_session.commit()
    sent = [
        ("05", make_instance("uuid:rec-a", name=NAME, age="31").replace(b">01<", b">05<")),
        ("05", make_instance("uuid:rec-b", name="Other Person", age="44").replace(b">01<", b">05<")),
        ("01", make_instance("uuid:rec-c", name="Person of 01", age="25")),
        (
            "05",
            make_instance("uuid:rec-a2", name=NAME, age="32", deprecated_id="uuid:rec-a").replace(b">01<", b">05<"),
        ),
    ]
    for province, xml in sent:
        response = post(client, tablets[province], xml, {"photo.jpg": JPEG})
        assert response.status_code == 201, response.data
    return tablets


def signed_in(app, email, password=PASSWORD):
    browser = app.test_client()
    assert console_sign_in(browser, email, password).status_code == 302
    return browser


def test_the_forms_page_counts_only_the_records_the_user_may_see(app, records):
    admin = page(signed_in(app, ADMIN_EMAIL, ADMIN_PASSWORD).get(SUBMISSIONS + "?lang=en"))
    assert re.search(r"sample_case</code></td>\s*<td class=\"num\">3</td>", admin)
    officer = page(signed_in(app, OFFICER).get(SUBMISSIONS + "?lang=en"))
    assert re.search(r"sample_case</code></td>\s*<td class=\"num\">2</td>", officer)
    assert 'aria-current="page"' in officer and "/console/projects/1/submissions" in officer


@pytest.mark.parametrize("email", [TRAINER, "statistician@example.la"])
def test_roles_that_read_no_records_are_refused_every_page(app, records, email):
    browser = signed_in(app, email)
    for url in (SUBMISSIONS, TABLE, one("uuid:rec-a"), one("uuid:rec-a") + "/files/photo.jpg"):
        response = browser.get(url)
        assert response.status_code == 403, url
        assert "rec_" not in page(response)


def test_the_table_lists_newest_first_with_the_chosen_columns_and_audits_the_read_once(app, db_session, records):
    browser = signed_in(app, ADMIN_EMAIL, ADMIN_PASSWORD)
    before = len(audits(db_session, "submission.list"))
    html = page(browser.get(f"{TABLE}?lang=en&col=full_name&col=age"))
    assert html.index("uuid:rec-c") < html.index("uuid:rec-b") < html.index("uuid:rec-a")
    assert NAME in html and "<td>32</td>" in html  # the current version's answers
    assert 'name="col" value="full_name" checked' in html and 'value="age" checked' in html
    # The language switch keeps every chosen column.
    switch = re.search(r'class="lang-switch" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "col=full_name" in switch and "col=age" in switch and "lang=lo" in switch
    assert len(audits(db_session, "submission.list")) == before + 1


def test_an_officer_sees_only_their_province_and_another_provinces_record_is_not_found(app, records):
    browser = signed_in(app, OFFICER)
    html = page(browser.get(TABLE))
    assert "uuid:rec-a" in html and "uuid:rec-b" in html and "uuid:rec-c" not in html
    response = browser.get(one("uuid:rec-c"))
    assert response.status_code == 404 and "ຂໍ້ມູນ" in page(response)
    assert browser.get(one("uuid:rec-c") + "/files/photo.jpg").status_code == 404
    csrf = csrf_of(browser.get(one("uuid:rec-a")))
    response = browser.post(one("uuid:rec-c") + "/review", data={"csrf_token": csrf, "state": "approved"})
    assert response.status_code == 404
    # Asking for province 01 shows nothing of it.
    assert "uuid:rec-c" not in page(browser.get(f"{TABLE}?province=01"))


def test_an_analyst_sees_sensitive_answers_hidden_and_may_not_review(app, db_session, records):
    browser = signed_in(app, ANALYST)
    table = page(browser.get(f"{TABLE}?lang=en&col=full_name&col=age"))
    assert NAME not in table and 'class="hidden-cell">hidden<' in table
    record = page(browser.get(one("uuid:rec-a") + "?lang=en"))
    assert NAME not in record and 'class="redacted">hidden<' in record and "32" in record
    assert "photo.jpg" not in record  # not even the name of a sensitive file
    assert browser.get(one("uuid:rec-a") + "/files/photo.jpg").status_code == 403
    assert 'action="' + one("uuid:rec-a") + '/review"' not in record
    csrf = csrf_of(browser.get(TABLE))
    response = browser.post(one("uuid:rec-a") + "/review", data={"csrf_token": csrf, "state": "approved"})
    assert response.status_code == 403
    response = browser.post(one("uuid:rec-a") + "/comments", data={"csrf_token": csrf, "body": "x"})
    assert response.status_code == 403
    # A filter on a sensitive answer would tell its value: refused; free text does not search it.
    assert browser.get(f"{TABLE}?field=full_name&value=x").status_code == 403
    assert "uuid:rec-a" not in page(browser.get(f"{TABLE}?text=Records"))


def test_the_record_page_shows_answers_under_labels_the_photo_and_the_diff_of_the_edit(app, db_session, records):
    browser = signed_in(app, OFFICER)
    before = {a: len(audits(db_session, a)) for a in ("submission.read_versions", "submission.read", "comment.read")}
    html = page(browser.get(one("uuid:rec-a") + "?lang=en"))
    assert NAME in html and "Vientiane" in html
    assert '<img class="answer-photo" src="' + one("uuid:rec-a") + '/files/photo.jpg"' in html
    assert re.search(r"<del>31</del></td><td><ins>32</ins>", html)  # the edit's field-level diff
    assert "uuid:rec-a2" in html
    after = {a: len(audits(db_session, a)) for a in before}
    assert after == {
        "submission.read_versions": before["submission.read_versions"] + 1,
        "submission.read": before["submission.read"],
        "comment.read": before["comment.read"] + 1,
    }
    photo = browser.get(one("uuid:rec-a") + "/files/photo.jpg")
    assert photo.status_code == 200 and photo.get_data() == JPEG and photo.mimetype == "image/jpeg"
    photo.close()
    assert len(audits(db_session, "attachment.read")) == 1
    assert browser.get(one("uuid:rec-a") + "/files/nothing.jpg").status_code == 404


def test_review_and_comment_need_the_csrf_token_and_are_audited(app, db_session, records):
    browser = signed_in(app, OFFICER)
    csrf = csrf_of(browser.get(one("uuid:rec-b")))
    assert browser.post(one("uuid:rec-b") + "/review", data={"state": "approved"}).status_code == 400
    assert browser.post(one("uuid:rec-b") + "/comments", data={"body": "no token"}).status_code == 400
    response = browser.post(one("uuid:rec-b") + "/review", data={"csrf_token": csrf, "state": "hasIssues"})
    assert response.status_code == 303
    html = page(browser.get(response.headers["Location"]))
    assert 'class="state">ມີບັນຫາ<' in html
    response = browser.post(one("uuid:rec-b") + "/comments", data={"csrf_token": csrf, "body": f"<b>{NAME}</b>"})
    assert response.status_code == 303
    html = page(browser.get(response.headers["Location"]))
    assert f"&lt;b&gt;{NAME}&lt;/b&gt;" in html
    assert [a.details for a in audits(db_session, "submission.review")][-1] == {"old": "received", "new": "hasIssues"}
    assert len(audits(db_session, "comment.create")) == 1
    for data, status in (({"state": "nonsense"}, 400), ({"state": ""}, 400)):
        assert browser.post(one("uuid:rec-b") + "/review", data={"csrf_token": csrf, **data}).status_code == status
    for body in ("", "   ", "x" * 10_001, "a\x00b"):
        assert browser.post(one("uuid:rec-b") + "/comments", data={"csrf_token": csrf, "body": body}).status_code == 400
    # The analyst reads the comment as hidden.
    analyst = page(signed_in(app, ANALYST).get(one("uuid:rec-b") + "?lang=en"))
    assert NAME not in analyst and 'class="redacted">hidden<' in analyst


def test_filters_narrow_the_table(app, records):
    browser = signed_in(app, ADMIN_EMAIL, ADMIN_PASSWORD)

    def listed(query: str) -> set[str]:
        html = page(browser.get(f"{TABLE}?{query}"))
        return set(re.findall(r"uuid:rec-[abc]\b", html))

    assert listed("province=05") == {"uuid:rec-a", "uuid:rec-b"}
    assert listed("field=age&value=44") == {"uuid:rec-b"}
    assert listed("text=person+OF") == {"uuid:rec-c"}
    assert listed("text=%25") == set()  # a LIKE wildcard is a character searched for, not a pattern
    assert listed("state=received") == {"uuid:rec-b", "uuid:rec-c"}
    assert listed("state=edited") == {"uuid:rec-a"}  # an edit is marked as Central marks it
    assert listed("state=approved") == set()
    assert listed("start=2000-01-01&end=2999-12-31") == {"uuid:rec-a", "uuid:rec-b", "uuid:rec-c"}
    assert listed("end=2000-01-01") == set()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("start=yesterday", 400),
        ("end=2026-13-45", 400),
        ("end=9999-12-31", 400),
        ("province=99", 400),
        ("province=%27%3B+DROP+TABLE+submissions%3B--", 400),
        ("district=9999", 400),
        ("state=lost", 400),
        ("field=nonsense&value=1", 400),
        ("field=age&value=old", 400),
        ("key=garbage", 400),
        ("key=1-", 400),
        ("key=99999999999999999999-1", 400),
        ("text=" + "x" * 201, 400),
        ("text=a%00b", 400),
        ("text=%27+OR+1%3D1+--", 200),
        ("text=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 200),
        ("col=%3Cscript%3E&col=age", 200),
    ],
)
def test_hostile_filters_get_a_page_with_a_message(app, records, query, status):
    browser = signed_in(app, OFFICER)
    response = browser.get(f"{TABLE}?{query}")
    html = page(response)
    assert response.status_code == status, query
    assert "<script>alert" not in html and "<script>" not in html.replace("<script src=", "")
    if status == 400:
        assert 'role="alert"' in html


def test_key_paging_walks_every_record_once(app, db_session, records, monkeypatch):
    monkeypatch.setattr(record_table, "PAGE_SIZE", 1)
    browser = signed_in(app, ADMIN_EMAIL, ADMIN_PASSWORD)
    seen, url = [], f"{TABLE}?lang=en"
    while url:
        html = page(browser.get(url))
        seen += re.findall(r"uuid:rec-[abc]\b(?=</a>)", html)
        found = re.search(r'href="(\?[^"]*)" rel="next"', html)
        url = TABLE + found.group(1).replace("&amp;", "&") if found else None
    assert seen == ["uuid:rec-c", "uuid:rec-b", "uuid:rec-a"]


def test_unknown_forms_records_and_projects_are_pages_not_json(app, records):
    browser = signed_in(app, OFFICER)
    for url in (
        "/console/projects/9/submissions",
        "/console/projects/1/forms/nope/submissions",
        one("uuid:nope"),
        one("uuid:rec-a/../../x"),
    ):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "text/html"


def test_the_interview_log_shows_time_per_question_and_flags_a_rushed_interview(app, db_session, records):
    log = "event,node,start,end\nform start,,1000,\nquestion,/data/full_name,1000,1500\nquestion,/data/age,1500,1900\n"
    with app.app_context(), scope.acting_as(db_session, SYSTEM):
        version = db_session.scalar(select(SubmissionVersion).where(SubmissionVersion.instance_id == "uuid:rec-b"))
        begin_write(db_session)
        db_session.add(SubmissionAttachment(submission_version_id=version.id, name="audit.csv"))
        db_session.flush()
        attach_file(db_session, get_store(), version, "audit.csv", io.BytesIO(log.encode()), "text/csv")
        db_session.commit()
    html = page(signed_in(app, OFFICER).get(one("uuid:rec-b") + "?lang=en"))
    assert "Warning: this interview was rushed" in html
    assert re.search(r"<td>[^<]*<span class=\"badge\">fast</span></td><td class=\"num\">0.5</td>", html)


def test_no_answer_filter_or_comment_reaches_the_log(app, records, log_scan):
    browser = signed_in(app, OFFICER)
    assert browser.get(f"{TABLE}?text={NAME}&field=full_name&value={NAME}").status_code == 200
    csrf = csrf_of(browser.get(one("uuid:rec-a")))
    assert browser.post(one("uuid:rec-a") + "/comments", data={"csrf_token": csrf, "body": NAME}).status_code == 303
    assert browser.get(f"{TABLE}?start={NAME}").status_code == 400
    assert log_scan.leaks([NAME, "ສົມໃຈ"]) == []
