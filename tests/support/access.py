"""Shared test helpers (moved from tests/collector/test_access_matrix.py)."""

from __future__ import annotations


def _basic(email: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}
