"""Shared test helpers (moved from tests/collector/test_scope.py)."""

from __future__ import annotations

import base64

import pytest

PASSWORD = "a long enough password"


def basic(email: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()}


@pytest.fixture
def users(db_session, published_form):
    from ingest.accounts.users import create_user

    made = {}
    for email, role, provinces in (
        ("analyst@example.la", "analyst", ()),
        ("officer05@example.la", "provincial-officer", ("05",)),
        ("national@example.la", "case-officer", ()),
        ("trainer05@example.la", "trainer", ("05",)),
    ):
        made[role] = create_user(db_session, email, PASSWORD, role, provinces=provinces)
    db_session.commit()
    return made


@pytest.fixture
def other_device(db_session, published_form):
    from ingest.accounts.users import assign_forms, create_device

    device = create_device(db_session, 1, "Tablet of province 05", "05")
    assign_forms(db_session, device, None)
    db_session.commit()
    return device
