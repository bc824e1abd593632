"""Duplicate-person detection: Lao text and romanisation folding, phones, and the splink linkage model."""

from ingest.persons.matching.linkage import DEFAULT_THRESHOLD, Candidate, FileSummary, match_file, match_records
from ingest.persons.matching.records import PersonRecord, read_records

__all__ = [
    "DEFAULT_THRESHOLD",
    "Candidate",
    "FileSummary",
    "PersonRecord",
    "match_file",
    "match_records",
    "read_records",
]
