"""Tables of case hand-off (issue 10): follow-up tasks owed by a person's home province.

Kept apart from ingest.models so that the hand-off work has a module of its own; ingest.models imports it,
so every model is known wherever the schema is.
"""
from __future__ import annotations
