"""Helpers every JSON API module shares: blueprints, request bodies, and lookups that answer 404."""
from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy import select

from collector.auth import pop_device_token
from collector.db import get_session
from ingest.access import RIGHTS, ROLES
from ingest.models import Form, Project

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
        abort(400, "The JSON body is nested too deeply.")
    if not isinstance(body, dict):
        abort(400, "The request body must be a JSON object.")
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
