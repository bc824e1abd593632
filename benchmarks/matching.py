"""Person matching on the labelled development set: the scorer's figures, run time and peak memory.

Run: .venv/bin/python -m benchmarks.matching [--min-score S] [--halves] [--register [--database URL]]
     [--scale 100000]
Writes the predicted pairs to benchmarks/out/matching_pairs.csv, prints the scorer's pairwise, closure and
B-cubed precision/recall/F1 with false positives by kind, the run time and peak RSS. --halves also runs the
matcher on each half of the persons separately (a check that nothing is fitted to particular rows);
--register loads the set into a fresh database's case register (SQLite in a temporary folder unless
--database names an empty one) and runs `collector persons match`'s code path (ingest.persons.decisions.match) on it;
--scale N times N synthetic records (the set repeated with shifted ids) in a child process, through the
register too with --register.
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

from ingest.persons.matching import DEFAULT_THRESHOLD, match_file, match_records, read_records  # noqa: E402 (path set first)

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
    result = scorer.score(
        scorer.load_pairs(pairs), scorer.load_truth(DATA / "truth.csv"), scorer.load_meta(DATA / "meta" / "persons.csv")
    )
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


def _fresh_database(url: str | None):
    """Return a session on an empty database at head (a temporary SQLite file unless `url` is given)."""
    import tempfile

    from collector.cli.db import upgrade_database
    from ingest.db import make_engine, make_session_factory
    from ingest.publishing.versions import ensure_project

    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='matching-')}/bench.db"
    upgrade_database(url)
    session = make_session_factory(make_engine(url))()
    ensure_project(session, 1)
    session.commit()
    return session


def _through_register(records, threshold: float, url: str | None, pairs_path: Path) -> tuple[float, float, object]:
    """Load `records` into the register and match them there; return (load s, match s, summary)."""
    from ingest.persons import decisions as persons
    from ingest.persons import identities

    session = _fresh_database(url)
    started = time.perf_counter()
    identities.load_person_records(session, 1, records)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    summary = persons.match(session, 1, incremental=False, threshold=threshold)
    matched = time.perf_counter() - started
    persons.export_pairs(session, 1, pairs_path)
    session.close()
    return loaded, matched, summary


def run_register(scorer, threshold: float, url: str | None) -> None:
    OUT.mkdir(exist_ok=True)
    pairs = OUT / "matching_register_pairs.csv"
    loaded, matched, summary = _through_register(read_records(DATA / "records.csv"), threshold, url, pairs)
    result = scorer.score(
        scorer.load_pairs(pairs), scorer.load_truth(DATA / "truth.csv"), scorer.load_meta(DATA / "meta" / "persons.csv")
    )
    print(scorer.fmt(result, f"through the case register: {summary.cases} cases, {summary.pairs} pairs -> {pairs}"))
    print(f"  time     : load {loaded:.1f} s, match {matched:.1f} s; peak RSS {peak_rss_mib():.0f} MiB")


def _scaled(n: int, threshold: float, register: bool = False, url: str | None = None) -> None:
    records = read_records(DATA / "records.csv")
    scaled = []
    copy = 0
    while len(scaled) < n:
        for r in records:
            if len(scaled) == n:
                break
            scaled.append(type(r)(**{**r.__dict__, "record_id": f"{r.record_id}-{copy}"}))
        copy += 1
    if register:
        loaded, matched, summary = _through_register(scaled, threshold, url, OUT / "matching_scaled_pairs.csv")
        print(
            f"  {n} records through the register: load {loaded:.1f} s, match {matched:.1f} s, {summary.pairs} pairs",
            flush=True,
        )
        return
    started = time.perf_counter()
    pairs = match_records(scaled, threshold)
    print(f"  {n} records: {len(pairs)} pairs in {time.perf_counter() - started:.1f} s", flush=True)


def run_scale(n: int, threshold: float, register: bool = False, url: str | None = None) -> None:
    # A fresh interpreter, not a fork: DuckDB's threads do not survive fork(), and the child's peak RSS
    # is then its own.
    child = multiprocessing.get_context("spawn").Process(target=_scaled, args=(n, threshold, register, url))
    child.start()
    child.join()
    print(
        f"  peak RSS of the {n}-record run (child process): {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
        f" (exit status {child.exitcode})"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--halves", action="store_true", help="also match each half of the persons on its own")
    parser.add_argument("--scale", type=int, default=0, help="also time this many synthetic records")
    parser.add_argument(
        "--register",
        action="store_true",
        help="match through the case register of a fresh database (ingest.persons.decisions.match)",
    )
    parser.add_argument(
        "--database",
        default=None,
        help="with --register: an empty database URL to use (default: SQLite in a temporary folder)",
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; threshold {args.min_score}")
    scorer = load_scorer()
    if args.register:
        run_register(scorer, args.min_score, args.database)
    else:
        run_set(scorer, args.min_score)
    if args.halves:
        run_halves(scorer, args.min_score)
    if args.scale:
        run_scale(args.scale, args.min_score, args.register)  # a database of its own


if __name__ == "__main__":
    main()
