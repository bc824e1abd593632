"""Tests of ingest.publishing."""
