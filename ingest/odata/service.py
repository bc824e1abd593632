"""OData reads for the API: the caller's redaction decided here, the filter compiler and the pages of entities
built with it, and each read audited once (`submission.list`, format odata)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.models import Form
from ingest.odata.filters import FilterCompiler, compiler_for
from ingest.odata.model import EntitySet, Model
from ingest.odata.read import Options, Page, read_page, read_record
from ingest.redaction import Redaction, redaction_for


def _redaction(session: Session, model: Model) -> Redaction:
    """Decide the redaction for the caller; a draft's test records are never real, so never redacted."""
    redaction = redaction_for(scope.require_caller(session))
    return Redaction(redaction.applies(draft=model.drafts))


def filter_compiler(session: Session, form: Form, model: Model, entity_set: EntitySet) -> FilterCompiler:
    """Return the $filter/$orderby compiler of an entity set for the caller (sensitive fields refused to a
    caller who does not see identities); nothing is read, so nothing is audited."""
    return compiler_for(session, form, model, entity_set, _redaction(session, model))


def read_entities(
    session: Session,
    form: Form,
    model: Model,
    options: Options,
    instance_id: str | None = None,
    segments: Sequence[tuple[str, str | None]] = (),
) -> Page:
    """Return a page of an entity set, or with `instance_id` one record (or the rows of one of its repeats
    that `segments` name), scoped and redacted for the caller; audited once with the count of entities (a
    draft model's test records: neither redacted nor audited).

    :raise NoSuchEntity: no such record for this caller, or no such repeat.
    """
    redaction = _redaction(session, model)
    if instance_id is None:
        page = read_page(session, form, model, options, redaction)
    else:
        page = read_record(session, form, model, instance_id, list(segments), options, redaction)
    if not model.drafts:  # a draft's test records are not audited, as their JSON listing is not
        audit.record(session, "submission.list", f"form:{form.xml_form_id}", count=len(page.entities), format="odata")
    return page
