"""Run every benchmark and print its figures (`make bench`)."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FULL = os.environ.get("BENCH_FULL", "") not in ("", "0")

#: Each benchmark module and the arguments `make bench` gives it.
BENCHMARKS = {
    "benchmarks.upload_memory": [],
    # Issue 20: the full path against the raw-INSERT baseline, 5 interleaved rounds (BENCH_FULL=1: 5 s a cell,
    # and issue 7's worker memory after 10,000 submissions).
    "benchmarks.submit_rate": ["--markdown", *(["--memory", "10000"] if FULL else [])],
    "benchmarks.matching": ["--halves"],
    "benchmarks.scoped_reads": ["--records", "2000", "--rounds", "5"],
    # Issue 9: exports, statistics, OData and replay over 100,000 records (`--full` adds the 1,000,000 CSV run).
    "benchmarks.read_side": ["--records", "100000"],
    # Issue 18: the console's pages (the submissions table) at 100,000 records, p50 and p95.
    "benchmarks.console_pages": ["--records", "100000"],
    # Issue 19: an entity list as a tablet downloads it, 10,000 cases in each of the 18 provinces.
    "benchmarks.entity_lists": ["--per-province", "10000", "--provinces", "18"],
}

for module, args in BENCHMARKS.items():
    print(f"\n== {module} {' '.join(args)} ==", flush=True)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__")
