"""Tables of person matching (issue 10): identity features of cases, candidate pairs and reviewed links.

Kept apart from ingest.models so that the matching work has a module of its own; ingest.models imports it,
so every model is known wherever the schema is.
"""
from __future__ import annotations
