"""The duplicate-person review queue: candidate pairs best first, one pair side by side, and the officer's decision.

The matcher ranks; officers decide. Every read goes through ingest.persons.service (scope, redaction, consent
and audit as on GET /v1/projects/<p>/persons/candidates) and every decision through ingest.persons.decisions
`decide` (as POST /v1/projects/<p>/persons/links), which checks the caller may see the pair and audits it.
"Not sure" leaves the pair in the queue and is audited too (`person.unsure`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from flask import flash, g, redirect, render_template, request, url_for

from collector.console.frame import bp, needs, refuse
from collector.console.views.cases import PAGE, project_or_404, province_choices
from collector.console.web import _
from collector.db import get_session
from ingest.persons import decisions, service
from ingest.persons.decisions import CaseNotFound, LinkConflict, PersonError
from ingest.persons.matching.lao import normalise_name, normalise_village
from ingest.persons.matching.phone import normalise_phone
from ingest.persons.matching.romanise import fold_latin

#: The buttons of the pair page: the service's decisions, and "not sure", which decides nothing.
UNSURE = "unsure"
CHOICES = (*sorted(decisions.DECISIONS), UNSURE)
#: The rows of the side-by-side: (the pair's field, message key of its label).
ROWS = (
    ("givenLo", "person_given_lo"),
    ("familyLo", "person_family_lo"),
    ("givenLatin", "person_given_latin"),
    ("familyLatin", "person_family_latin"),
    ("sex", "person_sex"),
    ("birthDate", "person_birth_date"),
    ("birthYear", "person_birth_year"),
    ("homeProvince", "person_home_province"),
    ("homeDistrict", "person_home_district"),
    ("homeVillage", "person_home_village"),
    ("phone", "person_phone"),
    ("province", "person_case_province"),
)
#: How the matcher folds a field before comparing (ingest.persons.matching): Lao spelling variants and titles,
#: romanisations of one Lao name, the word "ບ້ານ", a phone's +856 and trunk zero.
FOLDS: dict[str, Callable[[str], str]] = {
    "givenLo": normalise_name,
    "familyLo": normalise_name,
    "givenLatin": fold_latin,
    "familyLatin": fold_latin,
    "homeVillage": normalise_village,
    "phone": normalise_phone,
}


def _state(field: str, a, b) -> str:
    """Say whether two values agree as written (spaces and case aside), are alike once the matcher folds
    them, differ, or cannot be compared (one is missing or hidden)."""
    if a in (None, "") or b in (None, ""):
        return "unknown"
    if "".join(str(a).split()).casefold() == "".join(str(b).split()).casefold():
        return "agree"
    fold = FOLDS.get(field)
    if fold is not None and fold(str(a)) and fold(str(a)) == fold(str(b)):
        return "alike"
    return "differ"


def compare(pair: dict) -> list[dict]:
    """Return the side-by-side rows of a pair: each field's two values (None: hidden or unknown) and whether
    they agree, are alike, differ, or cannot be compared."""
    rows = []
    for field, key in ROWS:
        a, b = pair["a"].get(field), pair["b"].get(field)
        hidden = [side for side in ("a", "b") if field in pair[side]["redacted"]]
        rows.append({"label": _(key), "a": a, "b": b, "hidden": hidden, "state": _state(field, a, b)})
    return rows


def _min_score() -> float | None:
    text = request.args.get("minScore") or ""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:  # NaN fails too
        refuse(400, _("bad_min_score"))
    return value


@bp.get("/projects/<int:project_id>/persons")
@needs("records", "identities")
def persons(project_id: int):
    """The review queue: pending candidate pairs the caller may decide, highest score first, by key pages.

    :raise 400: a bad province, score or cursor.  :raise 403: a role that cannot judge identities.
    :raise 404: no such project.
    """
    project = project_or_404(project_id)
    province = request.args.get("province") or None
    if province is not None and province not in dict(province_choices()):
        refuse(400, _("bad_province"))
    min_score = _min_score()
    cursor = request.args.get("cursor") or None
    try:
        page, after = service.list_candidates(
            get_session(),
            project_id,
            province,
            min_score,
            PAGE,
            cursor,
            filters=[k for k in ("province", "minScore") if request.args.get(k)],
            best_first=True,
        )
    except PersonError:
        refuse(400, _("bad_cursor"))
    get_session().commit()
    kept = {k: request.args[k] for k in ("province", "minScore") if request.args.get(k)}
    return render_template(
        "console/cases/persons.html",
        project=project,
        pairs=page,
        province=province or "",
        min_score=kept.get("minScore", ""),
        provinces=province_choices(),
        next_args={**kept, "cursor": after} if after else None,
        first_args=kept if cursor else None,
    )


def _pair_or_404(project_id: int, pair_id: int, *, shown: bool = True) -> dict:
    pair = service.show_candidate(get_session(), project_id, pair_id, shown_to_caller=shown)
    if pair is None:
        refuse(404, _("no_such_pair"))
    return pair


@bp.get("/projects/<int:project_id>/persons/pairs/<int:pair_id>")
@needs("records", "identities")
def persons_pair(project_id: int, pair_id: int):
    """One candidate pair: both cases side by side, the fields that agree and differ marked, the matcher's
    evidence, and the decision buttons.

    :raise 404: no such project, or no such pending pair that the caller may see (decided, another
        province's, withheld).
    """
    project = project_or_404(project_id)
    if pair_id >= 2**31:
        refuse(404, _("no_such_pair"))
    pair = _pair_or_404(project_id, pair_id)
    get_session().commit()  # the audit of the identities shown
    return render_template("console/cases/pair.html", project=project, pair=pair, rows=compare(pair), choices=CHOICES)


@bp.post("/projects/<int:project_id>/persons/pairs/<int:pair_id>")
@needs("records", "identities")
def persons_decide(project_id: int, pair_id: int):
    """Take the officer's decision on a pair (confirm, reject, or not sure), audited by the service, then
    go back to the queue.

    :raise 400: a decision not offered.  :raise 404: no such pending pair that the caller may see (a pair
        decided already has left the queue).  :raise 409: the decision contradicts another one.
    """
    project_or_404(project_id)
    choice = request.form.get("decision", "")
    if choice not in CHOICES:
        refuse(400, _("bad_decision"))
    if pair_id >= 2**31:
        refuse(404, _("no_such_pair"))
    session = get_session()
    if choice == UNSURE:
        try:
            pair = service.note_unsure(session, project_id, pair_id)
        except CaseNotFound:
            refuse(404, _("no_such_pair"))
        session.commit()
    else:
        pair = _pair_or_404(project_id, pair_id, shown=False)  # its codes only, to decide on
        a, b = pair["a"]["caseCode"], pair["b"]["caseCode"]
        try:
            decisions.decide(session, project_id, a, b, choice, g.actor.caller)
        except CaseNotFound:
            session.rollback()
            refuse(404, _("no_such_pair"))
        except LinkConflict:
            session.rollback()
            refuse(409, _("decision_conflict"))
        session.commit()
    flash(_(f"decided_{choice}", a=pair["a"]["caseCode"], b=pair["b"]["caseCode"]), "ok")
    return redirect(url_for("console.persons", project_id=project_id))
