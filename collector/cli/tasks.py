"""`collector tasks`: follow-up tasks owed by a person's home province (issue 10)."""
from __future__ import annotations
