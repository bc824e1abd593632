"""Person matching on the labelled development set: the scorer's figures, run time and peak memory.

Run: .venv/bin/python -m benchmarks.matching [--min-score S] [--halves] [--scale 100000]
Writes the predicted pairs to benchmarks/out/matching_pairs.csv, prints the scorer's pairwise, closure and
B-cubed precision/recall/F1 with false positives by kind, the run time and peak RSS. --halves also runs the
matcher on each half of the persons separately (a check that nothing is fitted to particular rows);
--scale N times N synthetic records (the set repeated with shifted ids) in a child process.
"""
from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import platform
import resource
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.matching import DEFAULT_THRESHOLD, match_file, match_records, read_records

DATA = ROOT / "benchmarks" / "data" / "matching"
OUT = ROOT / "benchmarks" / "out"


def load_scorer():
    spec = importlib.util.spec_from_file_location("matching_score", DATA / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak_rss_mib(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def run_set(scorer, threshold: float) -> None:
    OUT.mkdir(exist_ok=True)
    pairs = OUT / "matching_pairs.csv"
    started = time.perf_counter()
    summary = match_file(DATA / "records.csv", pairs, threshold)
    elapsed = time.perf_counter() - started
    result = scorer.score(scorer.load_pairs(pairs), scorer.load_truth(DATA / "truth.csv"),
                          scorer.load_meta(DATA / "meta" / "persons.csv"))
    print(scorer.fmt(result, f"development set: {summary.records} records, {summary.pairs} pairs -> {pairs}"))
    print(f"  time     : {elapsed:.1f} s; peak RSS {peak_rss_mib():.0f} MiB")


def run_halves(scorer, threshold: float) -> None:
    """Match each half of the persons on its own; figures that hold on both halves are not fitted to rows."""
    truth = scorer.load_truth(DATA / "truth.csv")
    meta = scorer.load_meta(DATA / "meta" / "persons.csv")
    records = read_records(DATA / "records.csv")
    for half in (0, 1):
        # A stable hash of the person id, so the halves are the same on every run.
        keep = {r for r, p in truth.items() if zlib.crc32(p.encode()) % 2 == half}
        subset = [r for r in records if r.record_id in keep]
        pairs = [(c.record_id_a, c.record_id_b) for c in match_records(subset, threshold)]
        result = scorer.score(pairs, {r: p for r, p in truth.items() if r in keep}, meta)
        print(scorer.fmt(result, f"half {half}: {len(subset)} records"))


def _scaled(n: int, threshold: float) -> None:
    records = read_records(DATA / "records.csv")
    scaled = []
    copy = 0
    while len(scaled) < n:
        for r in records:
            if len(scaled) == n:
                break
            scaled.append(type(r)(**{**r.__dict__, "record_id": f"{r.record_id}-{copy}"}))
        copy += 1
    started = time.perf_counter()
    pairs = match_records(scaled, threshold)
    print(f"  {n} records: {len(pairs)} pairs in {time.perf_counter() - started:.1f} s", flush=True)


def run_scale(n: int, threshold: float) -> None:
    # A fresh interpreter, not a fork: DuckDB's threads do not survive fork(), and the child's peak RSS
    # is then its own.
    child = multiprocessing.get_context("spawn").Process(target=_scaled, args=(n, threshold))
    child.start()
    child.join()
    print(f"  peak RSS of the {n}-record run (child process): {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
          f" (exit status {child.exitcode})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--halves", action="store_true", help="also match each half of the persons on its own")
    parser.add_argument("--scale", type=int, default=0, help="also time this many synthetic records")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; threshold {args.min_score}")
    scorer = load_scorer()
    run_set(scorer, args.min_score)
    if args.halves:
        run_halves(scorer, args.min_score)
    if args.scale:
        run_scale(args.scale, args.min_score)


if __name__ == "__main__":
    main()
