"""The submissions pages in a real browser: a record sent from a tablet of province 05 through the OpenRosa
endpoint appears in the table; its officer opens it, sets its review state, comments, and sees the field
diff once the tablet sends an edit; an analyst sees the identifying answer hidden. Screenshots of the three
pages."""

from __future__ import annotations

import uuid

import pytest

from forms import BUNDLED_FORMS_DIR
from forms.compiler import compile_xlsform
from forms.lao import strip_marks
from tests.support.browser import assert_clean, open_console, screenshots
from tests.support.cases import SCREENING, instance
from tests.support.collect import Collect

TABLE = "/console/projects/1/forms/screening/submissions"
NOTE = "ນາງ ສົມໃຈ browser note"
COLUMNS = "col=grp_person/age_years&col=grp_referral/screening_notes"


@pytest.fixture(scope="module")
def screening_fields():
    return compile_xlsform(BUNDLED_FORMS_DIR / "screening.xlsx", validate=False).fields


def screening(fields, instance_id: str, age: str, deprecated: str | None = None) -> bytes:
    """A screening record of province 05 with an age and an identifying note (the form's sensitive field)."""
    xml = instance("screening", fields, instance_id, SCREENING, deprecated)
    return xml.replace(b"<age_years />", f"<age_years>{age}</age_years>".encode()).replace(
        b"<screening_notes />", f"<screening_notes>{NOTE}</screening_notes>".encode()
    )


@pytest.fixture(scope="module")
def tablet(console_server):
    out = console_server.cli("devices", "create", "Tablet 05", "--province", "05")
    return Collect(console_server.device_url(out.stdout))


def test_a_record_from_a_tablet_is_reviewed_commented_and_its_edit_diffed(
    chromium, console_server, tablet, screening_fields
):
    first = f"uuid:{uuid.uuid4()}"
    assert tablet.submit(screening(screening_fields, first, "31")).status_code == 201
    page = open_console(chromium, console_server, "provincial-officer", lang="en")
    page.goto(f"{TABLE}?{COLUMNS}")
    row = page.locator("table.records tbody tr", has_text=first)
    cells = strip_marks(row.inner_text())
    assert "31" in cells and NOTE in cells
    row.locator("a").first.click()
    page.wait_for_load_state()
    answers = strip_marks(page.locator("dl.answers").inner_text())
    assert NOTE in answers and "Age (years)" in answers and "31" in answers
    page.select_option("select[name=state]", "approved")
    page.click("text=Save the state")
    page.wait_for_load_state()
    assert "The review state was saved." in strip_marks(page.locator(".flash").inner_text())
    assert strip_marks(page.locator("dd.state").inner_text()) == "Approved"
    page.fill("textarea[name=body]", "Checked with the province office.")
    page.click("text=Add the comment")
    page.wait_for_load_state()
    assert "Checked with the province office." in strip_marks(page.locator("ul.comments").inner_text())
    # The tablet sends an edit: a new version naming the first as deprecated.
    edit = f"uuid:{uuid.uuid4()}"
    assert tablet.submit(screening(screening_fields, edit, "32", deprecated=first)).status_code == 201
    page.reload()
    diff = strip_marks(page.locator("table.diff").first.inner_text())
    assert "31" in diff and "32" in diff, diff
    assert edit in strip_marks(page.locator("#history ~ article").first.inner_text())
    assert_clean(page)
    page.context.close()

    analyst = open_console(chromium, console_server, "analyst", lang="en")
    analyst.goto(f"{TABLE}?{COLUMNS}")
    row = analyst.locator("table.records tbody tr", has_text=first)
    cells = strip_marks(row.inner_text())
    assert NOTE not in cells and "hidden" in cells and "32" in cells
    row.locator("a").first.click()
    analyst.wait_for_load_state()
    assert NOTE not in strip_marks(analyst.content())
    assert "hidden" in strip_marks(analyst.locator("dl.answers").inner_text())
    assert analyst.locator("textarea[name=body]").count() == 0  # analysts do not review
    assert_clean(analyst)
    analyst.context.close()


def test_screenshots_of_the_submissions_pages(chromium, console_server, tablet, screening_fields):
    record = f"uuid:{uuid.uuid4()}"
    assert tablet.submit(screening(screening_fields, record, "27")).status_code == 201
    pages = {
        "records-forms": "/console/projects/1/submissions",
        "records-table": f"{TABLE}?{COLUMNS}",
        "records-record": f"{TABLE}/{record}",
    }
    for name, path in pages.items():
        shots = screenshots(chromium, console_server, "provincial-officer", path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)
