"""Shared test helpers (moved from tests/ingest/stats/test_ctdc.py)."""

from __future__ import annotations

import openpyxl
import pytest

from forms import BUNDLED_FORMS_DIR, find_media
from forms.compiler import compile_xlsform
from tests.support.cases import SCREENING, instance
from tests.support.openrosa import post

#: What a trainer would add to the bundled case_intake so the export finds the answers CTDC wants beyond the
#: register (field name -> tag). Only this test names fields; the server finds them by the tags.
INTAKE_TAGS = {
    "vic_MethodsOfControl": "methods_of_control",
    "vic_ForcedLabourIndustry": "forced_labour_industry",
    "vic_TypeOfSexExploitation": "sex_exploitation_type",
    "vic_RelationshipToTrafficker": "recruiter_relation",
    "recruiter_relation_detail": "recruiter_relation_detail",
    "traffick_months_band": "traffick_months_band",
}


@pytest.fixture(scope="module")
def tagged_intake(tmp_path_factory):
    """The bundled case_intake with the tags a trainer would add for CTDC, compiled."""
    book = openpyxl.load_workbook(BUNDLED_FORMS_DIR / "case_intake.xlsx")
    survey = book["survey"]
    header = [c.value for c in survey[1]]
    name_col, tags_col = header.index("name"), header.index("tags")
    for row in survey.iter_rows(min_row=2):
        tag = INTAKE_TAGS.get(row[name_col].value)
        if tag:
            row[tags_col].value = " ".join(filter(None, [row[tags_col].value, tag]))
    path = tmp_path_factory.mktemp("ctdc") / "case_intake.xlsx"
    book.save(path)
    return compile_xlsform(path, validate=False)


@pytest.fixture
def ctdc_forms(app, db_session, device, tagged_intake):
    """Publish the bundled screening and follow-up and the tagged intake; return their field trees by form ID."""
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish

    compiled = {f: compile_xlsform(BUNDLED_FORMS_DIR / f"{f}.xlsx", validate=False) for f in ("screening", "followup")}
    compiled["case_intake"] = tagged_intake
    for form_id, form in compiled.items():
        publish(
            db_session,
            app.extensions["collector.store"],
            1,
            form,
            find_media(BUNDLED_FORMS_DIR / f"{form_id}.xlsx", form.media),
        )
    db_session.commit()
    assign_forms(db_session, device, None)
    db_session.commit()
    return {form_id: form.fields for form_id, form in compiled.items()}


def screen(client, device, forms, code: str, **answers):
    """Send a screening of case `code` (a woman from Laos exploited in Thailand unless `answers` say otherwise)."""
    values = {
        **SCREENING,
        "case_code": code,
        "gender": "Feminine",
        "age_band": "age_18_20",
        "citizenship": "LA",
        "country_of_exploitation": "TH",
        "exploitation_type": "ForcedLabour",
        **answers,
    }
    assert post(client, device, instance("screening", forms["screening"], f"uuid:s-{code}", values)).status_code == 201


def interview(client, device, forms, code: str, **answers):
    """Send the intake interview of case `code`."""
    values = {
        "case_code": code,
        "event_date": "2026-02-01",
        "scope_province": "05",
        "consent_sharing": "yes",
        **answers,
    }
    assert (
        post(client, device, instance("case_intake", forms["case_intake"], f"uuid:i-{code}", values)).status_code == 201
    )
