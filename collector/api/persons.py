"""Person matching over the JSON API: candidate pairs, reviewed links and persons (issue 10)."""

from __future__ import annotations

from flask import abort, jsonify, request
from marshmallow import Schema, fields, validate

from collector.api.common import READERS, api_blueprint, get_project, json_body
from collector.api.openapi import Param, accepts, takes
from collector.auth import current_actor, roles_required
from collector.db import get_session
from ingest.access import RIGHTS, ROLES
from ingest.persons import decisions as person_matching
from ingest.persons import service as persons_service
from ingest.persons.decisions import CaseNotFound, LinkConflict, PersonError
from ingest.persons.reads import MAX_PAGE

bp = api_blueprint("persons", __name__)

#: Roles that decide whether two cases are one person: they must see identities to judge.
DECIDERS = tuple(r for r in ROLES if {"records", "identities"} <= RIGHTS[r])


class LinkSchema(Schema):
    """An officer's decision on a pair of cases."""

    a = fields.String(required=True, validate=validate.Length(min=1, max=64))
    b = fields.String(required=True, validate=validate.Length(min=1, max=64))
    decision = fields.String(required=True, validate=validate.OneOf(sorted(person_matching.DECISIONS)))


def _limit() -> int:
    limit = request.args.get("limit", "100")
    if not limit.isascii() or not limit.isdigit():
        abort(400, "limit must be a whole number.")
    return int(limit)


def _caller():
    return current_actor().caller


@bp.get("/projects/<int:project_id>/persons/candidates")
@roles_required(*READERS)
@takes(
    Param("province", "Only pairs with a case in this province (two digits)."),
    Param("minScore", "Only pairs whose match probability is at least this (0 to 1).", "number"),
    Param("limit", f"Pairs per page, 1 to {MAX_PAGE} (default 100).", "integer"),
    Param("cursor", "The nextCursor of the previous page."),
)
def candidates(project_id: int):
    """List candidate pairs of cases that may be one person, with score, evidence and both cases side by side;
    a side outside the caller's provinces, or any side for a role without identities, is redacted (audited).

    :raise 400: a bad limit, cursor or minScore.  :raise 404: no such project.
    """
    get_project(project_id)
    min_score = request.args.get("minScore")
    try:
        min_score = float(min_score) if min_score not in (None, "") else None
    except ValueError:
        abort(400, "minScore must be a number from 0 to 1.")
    try:
        page, cursor = persons_service.list_candidates(
            get_session(),
            project_id,
            request.args.get("province") or None,
            min_score,
            _limit(),
            request.args.get("cursor"),
            filters=[k for k in request.args if k != "cursor"],
        )
    except PersonError as exc:
        abort(400, str(exc))
    get_session().commit()
    return jsonify({"candidates": page, "nextCursor": cursor})


@bp.post("/projects/<int:project_id>/persons/links")
@roles_required(*DECIDERS)
@accepts(LinkSchema)
def link(project_id: int):
    """Confirm (same person) or reject (never proposed again) a pair of cases; audited.

    :raise 404: no such project, or a case the caller cannot see.  :raise 409: the decision contradicts
        another (a rejected pair would end up in one person).  :raise 422: a malformed body.
    """
    get_project(project_id)
    body = LinkSchema().load(json_body())
    session = get_session()
    try:
        found = person_matching.decide(session, project_id, body["a"], body["b"], body["decision"], _caller())
    except CaseNotFound as exc:
        abort(404, str(exc))
    except LinkConflict as exc:
        session.rollback()
        abort(409, str(exc))
    except PersonError as exc:
        abort(422, str(exc))
    session.commit()
    return jsonify(
        {
            "a": found.case_a,
            "b": found.case_b,
            "state": found.state,
            "decidedAt": found.decided_at.isoformat(),
            "personKeys": [
                person_matching.person_key_of(session, project_id, code) for code in (found.case_a, found.case_b)
            ],
        }
    )


@bp.get("/projects/<int:project_id>/persons")
@roles_required(*READERS)
@takes(
    Param("limit", f"Persons per page, 1 to {MAX_PAGE} (default 100).", "integer"),
    Param("cursor", "The nextCursor of the previous page."),
)
def persons(project_id: int):
    """List the persons of more than one case (confirmed links) that have a case in the caller's scope, with
    their cases; redacted as the candidate pairs are (audited).

    :raise 400: a bad limit.  :raise 404: no such project.
    """
    get_project(project_id)
    try:
        page, cursor = persons_service.list_persons(get_session(), project_id, _limit(), request.args.get("cursor"))
    except PersonError as exc:
        abort(400, str(exc))
    get_session().commit()
    return jsonify({"persons": page, "nextCursor": cursor})
