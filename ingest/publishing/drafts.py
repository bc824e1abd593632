"""Upload an XLSForm as a draft: the one path the API's draft upload and the console's upload page share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.compiler import compile_xlsform
from ingest.models import Form, FormVersion
from ingest.publishing.versions import create_draft
from ingest.storage import MediaStore


def draft_from_xlsform(
    session: Session,
    store: MediaStore,
    project_id: int,
    xlsform: bytes,
    *,
    new_form: bool | None,
    xml_form_id: str | None = None,
    validate: bool = True,
    strict: bool = False,
) -> FormVersion:
    """Compile an XLSForm (pyxform, ODK Validate, the expression check) and store it as a draft; audited.

    `new_form`: True, the XLSForm must start a new form; False, it must be a new version of `xml_form_id`;
    None, whichever its form_id names (a form of that ID gets a new draft, else a new form starts).

    :raise forms.compiler.FormError: the XLSForm was refused (its problems carry their sheet and row).
    :raise Conflict: a new form whose ID exists.  :raise NotFound: no such form.
    :raise BadSubmission: the XLSForm's form_id is not `xml_form_id`.
    """
    compiled = compile_xlsform(xlsform, validate=validate, strict=strict)
    if new_form is None:
        exists = select(Form.id).where(Form.project_id == project_id, Form.xml_form_id == compiled.form_id)
        new_form = session.scalar(exists) is None
    return create_draft(session, store, project_id, compiled, new_form=new_form, xml_form_id=xml_form_id)
