"""Shared test helpers (moved from tests/ingest/test_crypto.py)."""

from __future__ import annotations

from ingest.crypto import (
    Argon2Parameters,
)

#: Cheapest argon2id settings, so the suite stays fast; real strength is the default.
FAST_KDF = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
