"""Benchmarks: they print figures and ratios and never fail on a timing (not part of the tests)."""
