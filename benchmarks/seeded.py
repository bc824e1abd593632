"""A database seeded with N case_intake records, for the benchmarks that time pages over it.

`seeded(spec, args, prefix)` prepares a SQLite file or a PostgreSQL database (`benchmarks.submit_rate.prepare`),
builds the app over it (`benchmarks.read_side.setup`) and seeds form 1 up to `args.records` records with the
read-side seeder, reusing a database kept with `--keep DIR`. It yields (app, label, records) and disposes of the
engine after; a database that cannot be prepared is reported and skipped (None).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.read_side import seed_form, setup


@contextmanager
def seeded(spec: str, args, prefix: str, notes: list[str] | None = None) -> Iterator[tuple | None]:
    """Yield (app, label, records) over a database of `spec` holding at least `args.records` records."""
    from benchmarks.submit_rate import prepare

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(args.keep) / spec.split(":")[0] if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            if args.keep and spec in ("sqlite", "postgresql") and (work / "ready").exists():
                url, label = (work / "ready").read_text().split("\n", 1)
            else:
                url, label = prepare(spec, work)
        except Exception as exc:
            print(f"skipped {spec}: {type(exc).__name__}: {exc}", flush=True)
            yield None
            return
        app, versions, stored = setup(url, str(work / "media"))
        if args.keep:
            (work / "ready").write_text(f"{url}\n{label}")
        if stored[1] < args.records:
            print(f"{label}: seeding {args.records - stored[1]:,} records", flush=True)
            seconds = seed_form(app, versions[1], 1, stored[1], args.records - stored[1])
            if notes is not None:
                notes.append(f"{label}: seeded {args.records - stored[1]:,} records in {seconds:.0f} s")
        try:
            yield app, label, max(stored[1], args.records)
        finally:
            app.extensions["collector.engine"].dispose()
