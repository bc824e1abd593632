"""The printed guidelines over HTTP: a form's handbook (or paper form) as a PDF, for trainers."""

from __future__ import annotations

import logging

from flask import Response, abort, current_app, request

from collector.api.common import TRAINERS, api_blueprint, flag, get_form
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session, get_store
from forms.handbook.render import LANGUAGE_CHOICES, PAPER_SIZES, EmblemError, Identity, emblem_uri, handbook_pdf
from ingest.publishing.handbooks import form_source, handbook_versions

logger = logging.getLogger(__name__)

bp = api_blueprint("handbook", __name__)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/handbook.pdf")
@roles_required(*TRAINERS)
@takes(
    Param("lang", "lo, en or both (default)."),
    Param("draft", "true: print the draft.", "boolean"),
    Param("paper", "true: a fill-in paper form.", "boolean"),
    Param("paper_size", "a4 (default) or a5, a field booklet."),
    Param("cover", "true: a paper form with cover, contents and back page too.", "boolean"),
)
def handbook(project_id: int, xml_form_id: str):
    """Print a form's published version (or its draft, ?draft=true) as a handbook, or a paper form (?paper=true).

    :raise 400: ?lang= is not lo, en or both, or ?paper_size= not a4 or a5.  :raise 404: no such form, or no
        such version.  :raise 500: the HANDBOOK_EMBLEM setting names no usable image.
    """
    lang = request.args.get("lang", "both")
    if lang not in LANGUAGE_CHOICES:
        abort(400, f"lang must be one of {', '.join(LANGUAGE_CHOICES)}.")
    size = request.args.get("paper_size", "a4")
    if size not in PAPER_SIZES:
        abort(400, f"paper_size must be one of {', '.join(PAPER_SIZES)}.")
    config = current_app.config
    try:
        emblem = emblem_uri(config.get("HANDBOOK_EMBLEM"))
    except EmblemError:
        logger.error("the HANDBOOK_EMBLEM setting names no usable PNG or JPEG image")
        abort(500, "The HANDBOOK_EMBLEM setting names no usable PNG or JPEG image.")
    identity = Identity(
        edition=str(config.get("HANDBOOK_EDITION") or ""),
        edition_date=str(config.get("HANDBOOK_EDITION_DATE") or ""),
        emblem=emblem,
    )
    get_form(project_id, xml_form_id)
    draft = flag("draft")
    version = handbook_versions(get_session(), project_id, [xml_form_id], draft=draft)[0]
    pdf = handbook_pdf(
        [form_source(version, get_store())],
        lang=lang,
        paper=flag("paper"),
        paper_size=size,
        cover=True if flag("cover") else None,
        identity=identity,
    )
    kind = "paper" if flag("paper") else "handbook"
    name = (
        f"{xml_form_id}-{version.version}{'-draft' if draft else ''}-{kind}-{lang}{'-a5' if size == 'a5' else ''}.pdf"
    )
    logger.info("printed the %s of form %s version %s", kind, xml_form_id, version.version)
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
