"""ingest.exports.service called directly, without HTTP: the count, the stream redacted for the caller, the audit
written once before the first byte, and refusal when the session names no caller or another one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingest import scope
from ingest.access import SYSTEM, Caller, user_caller
from ingest.accounts.users import create_user
from ingest.exports.service import export_records
from ingest.models import AuditEvent, Form
from tests.conftest import make_instance
from tests.support.exports import read_zip
from tests.support.openrosa import post


@pytest.fixture
def form(client, device, db_session):
    """Two records of the sample form, sent by a tablet; the form as the service takes it."""
    for name in ("Noy Phommachanh", "Keo Sayavong"):
        assert post(client, device, make_instance(name=name), {"photo.jpg": b"\xff\xd8\xff"}).status_code == 201
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        return db_session.scalar(select(Form).where(Form.xml_form_id == "sample_case"))


@pytest.fixture
def callers(db_session, form) -> dict[str, Caller]:
    """An analyst (identities redacted) and a case officer (identities shown), as the API would name them."""
    made = {
        role: create_user(db_session, f"{role}@example.la", "a long enough password", role)
        for role in ("analyst", "case-officer")
    }
    db_session.commit()
    return {role: user_caller(user) for role, user in made.items()}


def exports_audited(db_session) -> list[AuditEvent]:
    with scope.acting_as(db_session, SYSTEM):
        return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.export")))


def read(db_session, caller: Caller, form: Form, **options) -> tuple[int, dict]:
    """Export `form` as `caller`, audit checked before the stream is read; return the count and the CSVs."""
    with scope.acting_as(db_session, caller):
        count, stream = export_records(db_session, "csv", form, **options)
        assert len(exports_audited(db_session)) == 1  # before the first byte: a download cut short is recorded
        db_session.commit()
        with scope.acting_as(db_session, caller):
            tables = read_zip(b"".join(stream()))
    return count, tables


def full_names(tables: dict) -> list[str]:
    [main] = [t for name, t in tables.items() if name == "sample_case.csv"]
    return sorted(row["full_name"] for row in main["rows"])


def test_an_analyst_gets_every_record_without_the_names(form, callers, db_session):
    count, tables = read(db_session, callers["analyst"], form)
    assert count == 2
    names = full_names(tables)
    assert len(names) == 2 and not {"Noy Phommachanh", "Keo Sayavong"} & set(names)
    [event] = exports_audited(db_session)
    assert (event.resource, event.details["count"], event.details["format"]) == ("form:sample_case", 2, "csv")


def test_a_case_officer_gets_the_names(form, callers, db_session):
    count, tables = read(db_session, callers["case-officer"], form)
    assert count == 2 and full_names(tables) == ["Keo Sayavong", "Noy Phommachanh"]


def test_no_caller_is_refused_before_anything_is_audited(form, db_session):
    with pytest.raises(scope.ScopeMissing):
        export_records(db_session, "csv", form)
    assert exports_audited(db_session) == []


def test_the_stream_refuses_a_session_of_another_caller(form, callers, db_session):
    with scope.acting_as(db_session, callers["analyst"]):
        _, stream = export_records(db_session, "csv", form)
        db_session.commit()
    with scope.acting_as(db_session, callers["case-officer"]), pytest.raises(scope.ScopeMissing):
        b"".join(stream())


def test_an_unknown_geopoint_is_refused_before_anything_is_audited(form, callers, db_session):
    with scope.acting_as(db_session, callers["case-officer"]), pytest.raises(LookupError):
        export_records(db_session, "geojson", form, geopoint="no_such_question")
    assert exports_audited(db_session) == []
