"""Helpers every JSON API module shares: blueprints, request bodies, and lookups that answer 404."""

from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy import select

from collector.auth import pop_device_token
from collector.db import get_session
from collector.errors import refuse
from ingest.access import RIGHTS, ROLES
from ingest.audit import parse_moment
from ingest.errors import IDENTITIES_HIDDEN, UNPARSEABLE
from ingest.exports.walk import union_fields
from ingest.models import Form, Project
from ingest.queries import REVIEW_STATES, Filters
from ingest.records.answers import BadValue, UnknownField, district_condition, parse_term, record_condition
from ingest.records.service import may_filter_on, search_condition

#: Roles of web users who may see forms and projects (every role).
STAFF = ROLES
#: Roles who manage forms, drafts and devices.
TRAINERS = tuple(r for r in ROLES if "forms" in RIGHTS[r])
#: Roles who read submission records (scoped and redacted by ingest.scope).
READERS = tuple(r for r in ROLES if "records" in RIGHTS[r])
#: Roles who may send or edit records as themselves.
SUBMITTERS = tuple(r for r in ROLES if "submit" in RIGHTS[r])


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """Return a blueprint whose views also answer below /v1/key/<token>/ (the token is taken off the arguments)."""
    bp = Blueprint(name, import_name)
    bp.url_value_preprocessor(pop_device_token)
    return bp


def json_body() -> dict:
    """Return the request's JSON object.

    :raise 400: the body is not a JSON object, is nested too deeply, or holds a NUL or an unpaired surrogate.
    """
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        refuse(UNPARSEABLE, "The JSON body is nested too deeply.")
    if not isinstance(body, dict):
        refuse(UNPARSEABLE, "The request body must be a JSON object.")
    if not _clean_text(body):
        abort(400, "The JSON body holds a character that is not valid text (NUL or an unpaired surrogate).")
    return body


def _clean_text(value, depth: int = 0) -> bool:
    """Say whether every string in a JSON value is storable text: no NUL, no unpaired surrogate."""
    if depth > 50:
        return False
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_clean_text(k, depth + 1) and _clean_text(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean_text(v, depth + 1) for v in value)
    return True


def get_project(project_id: int) -> Project:
    """:raise 404: no such project."""
    project = get_session().get(Project, project_id)
    if project is None:
        abort(404, "No such project.")
    return project


def get_form(project_id: int, xml_form_id: str) -> Form:
    """:raise 404: no such form."""
    form = get_session().scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        abort(404, f"No form '{xml_form_id}' in project {project_id}.")
    return form


def flag(name: str) -> bool:
    """Say whether a query-string switch such as ?force=true is on."""
    return request.args.get(name, "").lower() in ("1", "true", "yes")


def record_filters(form: Form) -> Filters:
    """Read the filters every listing and export of records takes (each repeatable, combined with and):
    `?province=`, `?reviewState=`, `?device=` (device id), `?start=` and `?end=` (ISO 8601 on the submission
    date; a bare end date includes its day), `?district=` (the answer tagged scope_district), `?text=` (free
    text in the typed answers the caller may filter on) and `?q=` terms on answers (`field:value`, `field>=value`, ...;
    see ingest.records.answers.parse_term).

    :raise 400: an unknown review state, a date that is not ISO 8601, a device that is not an id, or a term
        whose value does not fit its field.  :raise 403: a term on a sensitive field, for a caller who may
        not see identities (filtering on it would reveal its values).  :raise 422: a term on a field the form
        never had, named.
    """

    states = tuple(request.args.getlist("reviewState"))
    unknown = [s for s in states if s not in REVIEW_STATES]
    if unknown:
        abort(400, f"?reviewState= must be one of {', '.join(REVIEW_STATES)}; got {unknown[0]!r}.")
    devices = request.args.getlist("device")
    if not all(d.isascii() and d.isdigit() and int(d) < 2**63 for d in devices):
        abort(400, "?device= must be a device id (a whole number).")
    moments = {}
    for name in ("start", "end"):
        text = request.args.get(name)
        try:
            moments[name] = parse_moment(text, end=name == "end") if text else None
        except ValueError:
            abort(400, f"?{name}= must be an ISO 8601 date or moment, such as 2026-12-01 or 2026-12-01T08:00Z.")
    answers = []
    terms = request.args.getlist("q")
    districts = tuple(request.args.getlist("district"))
    text = request.args.get("text", "").strip()
    fields = union_fields(get_session(), form) if terms or districts or text else []
    if districts:
        answers.append(district_condition(fields, districts))
    if text:
        answers.append(search_condition(get_session(), fields, text))
    for term in terms:
        try:
            field, op, value = parse_term(fields, term)
        except UnknownField as exc:
            abort(422, str(exc))
        except BadValue as exc:
            abort(400, str(exc))
        if not may_filter_on(get_session(), field):
            refuse(IDENTITIES_HIDDEN, f"Field '{field['name']}' is sensitive; your role does not filter on identities.")
        answers.append(record_condition(field, op, value))
    claimed = tuple(request.args.getlist("claimedProvince"))
    if not all(c == "any" or (len(c) == 2 and c.isascii() and c.isdigit()) for c in claimed):
        abort(400, "?claimedProvince= must be a province code (two digits) or any.")
    foreign = request.args.getlist("foreignCase")
    if not all(f in ("true", "false") for f in foreign) or len(set(foreign)) > 1:
        abort(400, "?foreignCase= must be true or false.")
    return Filters(
        tuple(request.args.getlist("province")),
        states,
        moments["start"],
        moments["end"],
        tuple(int(d) for d in devices),
        tuple(answers),
        claimed,
        foreign_case=(foreign[0] == "true") if foreign else None,
    )
