"""Forms that declare an entity list: what pyxform writes, and what publishing makes of it (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forms.entities import declaration
from ingest.entity_models import Dataset
from ingest.publishing.versions import create_draft, publish, publish_draft
from tests.support.entities import FOLLOWUP, REGISTRATION, compiled


def test_the_declaration_pyxform_writes_is_read():
    registration, followup = declaration(compiled(REGISTRATION).xml), declaration(compiled(FOLLOWUP).xml)
    assert (registration.dataset, registration.creates, registration.updates) == ("cases", True, False)
    assert registration.properties == {
        "case_code": ("case_code",),
        "province": ("province",),
        "gender": ("gender",),
        "age_band": ("age_band",),
    }
    assert (followup.dataset, followup.creates, followup.updates, followup.spec) == ("cases", False, True, "2024.1.0")
    assert followup.properties == {"status": ("status",), "age_band": ("age_band",)}


@pytest.mark.parametrize("xml", ["", "<not xml", "<h:html xmlns:h='http://www.w3.org/1999/xhtml'/>"])
def test_no_declaration_in_other_documents(xml):
    assert declaration(xml) is None


def test_a_drafts_properties_wait_for_publishing(app, db_session, published_form_project):
    store = app.extensions["collector.store"]
    draft = create_draft(db_session, store, 1, compiled(REGISTRATION), new_form=True)
    db_session.commit()
    dataset = db_session.scalar(select(Dataset))
    assert dataset.name == "cases" and all(p.published_at is None for p in dataset.properties)
    publish_draft(db_session, draft.form, force=True)
    db_session.commit()
    assert [p.name for p in dataset.properties if p.published_at] == ["case_code", "province", "gender", "age_band"]


def test_a_form_reading_its_list_needs_no_upload_of_it(app, db_session, published_form_project):
    # The follow-up declares the list it updates: publishing it makes the list, so `cases.csv` is the server's.
    result = publish(db_session, app.extensions["collector.store"], 1, compiled(FOLLOWUP), {})
    db_session.commit()
    assert result.missing_media == []
    assert [p.name for p in db_session.scalar(select(Dataset)).properties] == ["status", "age_band"]
