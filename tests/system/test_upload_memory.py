"""Large media are streamed to disk: a worker's peak memory barely moves while receiving a big video."""

from __future__ import annotations

import os

import pytest

from benchmarks.upload_memory import run

#: Upload size for the test; the benchmark (docs/benchmarks/index.md) measures 200 MB. COLLECTOR_UPLOAD_MB raises it.
UPLOAD_MB = int(os.environ.get("COLLECTOR_UPLOAD_MB", "64"))


def test_worker_peak_memory_growth_stays_under_40_mb_for_a_large_video():
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("cannot reset peak RSS marks here (/proc/<pid>/clear_refs is not writable)")
    small, large = run([1, UPLOAD_MB])
    assert large["size_mb"] == UPLOAD_MB
    # Holding the body in memory would grow the worker by at least its size.
    assert large["growth_kb"] < 40 * 1024, large
