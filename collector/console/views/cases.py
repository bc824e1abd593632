"""The case register and the hand-off tasks of a project, as the caller may see them.

Both pages read through ingest.cases.service, the functions behind GET /v1/projects/<p>/cases and /tasks: the
same filters, the same key paging, the same scope (a provincial officer sees their provinces' cases and the
tasks their provinces owe) and the same audit. Tasks change state only by records (a follow-up of the home
province closes one), so the tasks page has nothing to post.
"""

from __future__ import annotations

import csv
import functools

from flask import abort, render_template, request

from collector.console.frame import bp, needs, refuse
from collector.console.web import _, page_language
from collector.db import get_session
from forms import BUNDLED_MEDIA_DIR
from ingest.cases.register import FILTERS, LIST_FILTERS, BadCaseQuery, UnknownCaseFilter
from ingest.cases.service import list_cases, list_tasks
from ingest.cases.tasks import STATUSES, BadTaskQuery
from ingest.models import Project

#: Rows a page of the console shows (the API's default is 100; a page of 50 reads well on a tablet).
PAGE = 50
#: Longest filter value taken; a longer one is no code or word of the register.
MAX_VALUE = 100
#: The case filters in the order the form shows them, each with its label's message key.
CASE_FILTERS = (
    ("province", "case_province"),
    ("district", "case_district"),
    ("year", "case_year"),
    ("gender", "case_gender"),
    ("ageBand", "case_age_band"),
    ("exploitationType", "case_exploitation"),
    ("countryOfExploitation", "case_country"),
    ("citizenship", "case_citizenship"),
    ("traffickingStatus", "case_trafficking_status"),
    ("caseStatus", "case_status"),
)
#: Query parameters of the page that are not filters of the register.
PAGE_PARAMETERS = ("cursor", "lang")


@functools.lru_cache(maxsize=1)
def _provinces() -> tuple[tuple[str, str, str], ...]:
    """Return the 18 provinces as (code, Lao name, English name), from the forms' bundled list."""
    with (BUNDLED_MEDIA_DIR / "provinces.csv").open(encoding="utf-8") as handle:
        return tuple((row["name"], row["label_lo"], row["label_en"]) for row in csv.DictReader(handle))


def province_choices() -> list[tuple[str, str]]:
    """Return (code, "code name") for each province, named in the page language."""
    lang = page_language()
    return [(code, f"{code} {lo if lang == 'lo' else en}") for code, lo, en in _provinces()]


def project_or_404(project_id: int) -> Project:
    """:raise 404: no such project."""
    project = get_session().get(Project, project_id)
    if project is None:
        abort(404)
    return project


def _cursor() -> str | None:
    cursor = request.args.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_VALUE:
        refuse(400, _("bad_cursor"))
    return cursor


@bp.get("/projects/<int:project_id>/cases")
@needs("records")
def cases(project_id: int):
    """The case register: cases the caller may see, oldest first, with the API's filters and key paging.

    :raise 400: an unknown filter, a bad year or cursor, an over-long value.  :raise 403: no records right.
    :raise 404: no such project.
    """
    project = project_or_404(project_id)
    known = {*FILTERS, *LIST_FILTERS, "year"}  # the form offers each (CASE_FILTERS; a test checks)
    unknown = sorted(set(request.args) - known - set(PAGE_PARAMETERS))
    if unknown:
        refuse(400, _("unknown_case_filter", name=unknown[0][:40]))
    args = {}
    for name in request.args:
        if name in PAGE_PARAMETERS:
            continue
        values = [v.strip() for v in request.args.getlist(name) if v.strip()]
        if any(len(v) > MAX_VALUE or "\x00" in v for v in values):
            refuse(400, _("bad_filter_value"))
        if values:
            args[name] = values
    try:
        page, after = list_cases(get_session(), project_id, args, PAGE, _cursor())
    except UnknownCaseFilter:
        refuse(400, _("unknown_case_filter", name="?"))
    except BadCaseQuery as exc:
        refuse(400, _("bad_year") if "year" in str(exc) else _("bad_cursor"))
    get_session().commit()
    chosen = {name: (args.get(name) or [""])[0] for name, _key in CASE_FILTERS}
    next_args = {k: v for k, v in chosen.items() if v}
    return render_template(
        "console/cases/cases.html",
        project=project,
        cases=page,
        filters=CASE_FILTERS,
        chosen=chosen,
        provinces=province_choices(),
        next_args={**next_args, "cursor": after} if after else None,
        first_args=next_args if request.args.get("cursor") else None,
    )


@bp.get("/projects/<int:project_id>/tasks")
@needs("records", "identities", "submit")
def tasks(project_id: int):
    """The follow-up tasks handed to the caller's provinces (all provinces for national roles), with their state.

    :raise 400: a bad status, province or cursor.  :raise 403: a role without access to tasks (as on the API).
    :raise 404: no such project.
    """
    project = project_or_404(project_id)
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        refuse(400, _("bad_task_status"))
    province = request.args.get("province") or None
    codes = {code for code, _lo, _en in _provinces()}
    if province is not None and province not in codes:
        refuse(400, _("bad_province"))
    try:
        page, after = list_tasks(
            get_session(),
            project_id,
            status=status,
            provinces=[province] if province else [],
            limit=PAGE,
            cursor=_cursor(),
        )
    except BadTaskQuery:
        refuse(400, _("bad_cursor"))
    get_session().commit()
    kept = {k: v for k, v in (("status", status), ("province", province)) if v}
    return render_template(
        "console/cases/tasks.html",
        project=project,
        tasks=page,
        status=status or "",
        province=province or "",
        statuses=STATUSES,
        provinces=province_choices(),
        names=dict((code, name) for code, name in province_choices()),
        next_args={**kept, "cursor": after} if after else None,
        first_args=kept if request.args.get("cursor") else None,
    )
