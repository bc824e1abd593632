"""Submissions per second through gunicorn: the real server against a raw-INSERT baseline in the same run.

Run: .venv/bin/python -m benchmarks.submit_rate [--seconds 5 | --count N] [--quick] [--clients 1,4,16]
     [--database URL ...] [--memory N] [--markdown]

For each database it starts two gunicorn servers with the settings of `deploy/gunicorn.conf.py` (its
worker count and worker class): the real collector, and `benchmarks.baseline_app`, a plain Flask app that
INSERTs the raw multipart parts into one table. ODK Collect emulators (`tests.support.collect`), one thread and
one keep-alive session each, post real instances of the sample form at 1, 4 and 16 concurrent clients,
without and with a 50 KB photo. It prints submissions/s, p50 and p95 latency for both and the ratio
real/baseline, and counts every answer other than 201 instead of failing.

`--database` may be given more than once; `sqlite` means a fresh file in a temporary folder and
`postgresql` the URL in `BENCH_DATABASE_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/bench),
which is created if missing and emptied (DROP SCHEMA public CASCADE) before the run. Default: both.
`--memory N` then posts N more submissions to the real server and prints each worker's RSS before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import runpy
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import make_instance  # noqa: E402
from tests.support.collect import Collect  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
#: Databases this benchmark must never empty: the test suite's shared database and the server's own.
PROTECTED = {"test", "postgres", "template0", "template1"}
PHOTO = b"\xff\xd8\xff\xe0" + os.urandom(50 * 1024 - 4)


@dataclass
class Cell:
    """The outcome of one server at one load: answers, latencies (s) and the measured wall time (s)."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)
    samples: dict = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.answers[201]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Return the p-th percentile latency of the 201 answers, in ms (nan if there were none)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def record(self, status, latency: float, body: str) -> None:
        self.answers[status] += 1
        if status == 201:
            self.latencies.append(latency)
        else:
            self.samples.setdefault(status, body[:200])


def gunicorn_settings() -> dict:
    """Read the worker count, worker class and threads from deploy/gunicorn.conf.py, as gunicorn would."""
    config = runpy.run_path(str(CONFIG))
    return {
        "workers": int(config.get("workers", 1)),
        "worker_class": str(config.get("worker_class", "sync")),
        "threads": int(config.get("threads", 1)),
    }


def submit_once(tablet: Collect, photo: bytes | None, cell: Cell | None) -> None:
    """Post one new instance (with `photo` attached if given) and record the answer in `cell`."""
    xml = make_instance(f"uuid:{uuid.uuid4()}", photo="photo.jpg" if photo else None)
    if photo:
        # Every tablet photo is a different file: the same bytes each time would measure deduplication.
        photo = photo[:4] + uuid.uuid4().bytes + photo[20:]
    start = time.perf_counter()
    try:
        response = tablet.submit(xml, {"photo.jpg": photo} if photo else None)
        status, body = response.status_code, "" if response.status_code == 201 else response.text
    except requests.RequestException as exc:
        status, body = type(exc).__name__, str(exc)
    if cell is not None:
        cell.record(status, time.perf_counter() - start, body)


def run_cell(
    url: str, clients: int, photo: bytes | None, *, seconds: float = 5.0, count: int | None = None, warmup: int = 2
) -> Cell:
    """Post from `clients` threads for `seconds` (or `count` submissions in all); return the figures."""
    cell = Cell()
    lock = threading.Lock()
    tickets = iter(range(count)) if count is not None else None
    ends: list[float] = []
    clock = {}

    def go() -> None:
        # Runs once, as the last client arrives and before any is released, so no client sees no deadline.
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    barrier = threading.Barrier(clients + 1, action=go)

    def more() -> bool:
        if tickets is None:
            return time.perf_counter() < clock["deadline"]
        with lock:
            return next(tickets, None) is not None

    def client(n: int) -> None:
        tablet = Collect(url, f"collect:bench{clients:02d}{n:02d}")
        try:
            # The warm-up opens this client's keep-alive connection and wakes the worker that serves it.
            for _ in range(warmup):
                submit_once(tablet, photo, None)
            barrier.wait(timeout=120)
            mine = Cell()
            while more():
                submit_once(tablet, photo, mine)
        except Exception as exc:  # a benchmark reports what went wrong and carries on
            mine = Cell()
            mine.record(f"client {type(exc).__name__}", 0.0, str(exc))
            barrier.abort()
        finally:
            tablet.http.close()
        with lock:
            ends.append(time.perf_counter())
            cell.latencies += mine.latencies
            cell.answers.update(mine.answers)
            for status, body in mine.samples.items():
                cell.samples.setdefault(status, body)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=180)
    except threading.BrokenBarrierError:
        clock.setdefault("start", time.perf_counter())
    for thread in threads:
        thread.join()
    cell.seconds = max(ends, default=clock["start"]) - clock["start"]
    return cell


def worker_memory(master: int) -> dict[int, tuple[int, int]]:
    """Return {pid: (VmRSS, VmHWM) in KB} for each child (worker) of the gunicorn master `master`."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:  # the process ended while we looked
            continue
        if int(fields.get("PPid", "0")) == master:
            found[int(status.parent.name)] = (int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))
    return found


def prepare(spec: str, scratch: Path) -> tuple[str, str]:
    """Turn a --database value into (URL, engine label), with an empty database behind it."""
    if spec == "sqlite":
        spec = f"sqlite:///{scratch / 'bench.sqlite3'}"
    elif spec == "postgresql":
        spec = os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    url = sa.make_url(spec)
    if url.get_backend_name() == "sqlite":
        if url.database and Path(url.database).exists():
            raise RuntimeError(f"{url.database} exists; the benchmark writes to a new SQLite file only")
        return spec, f"SQLite {sqlite3.sqlite_version}"
    if url.database in PROTECTED or not re.fullmatch(r"\w+", url.database or ""):
        raise RuntimeError(f"refusing to empty PostgreSQL database {url.database!r}; name a benchmark database")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}) is None:
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            version = conn.scalar(sa.text("SHOW server_version")).split()[0]
    finally:
        engine.dispose()
    return spec, f"PostgreSQL {version}"


def bench_engine(spec: str, args, gunicorn: dict, rows: list, problems: list) -> None:
    """Measure every (clients, photo) cell on one database, both servers started side by side."""
    with tempfile.TemporaryDirectory(prefix="submit-rate-") as tmp:
        scratch = Path(tmp)
        try:
            url, label = prepare(spec, scratch)
        except Exception as exc:
            print(f"skipped {spec}: {type(exc).__name__}: {exc}", flush=True)
            return
        workers = gunicorn["workers"]
        real = LiveServer(url, scratch / "real", workers=workers)
        baseline = LiveServer(url, scratch / "baseline", workers=workers, app_module="benchmarks.baseline_app:app")
        try:
            real.migrate().start()
            baseline.start()
            servers = {"baseline": baseline.url, "real": real.sample_device()}
            print(f"{label}: real server {real.url}, baseline {baseline.url}", flush=True)
            for base in servers.values():  # first requests: imports, pools, the first form lookup
                run_cell(base, max(args.clients), PHOTO, count=2 * workers * max(args.clients), warmup=0)
            for clients in args.clients:
                for photo in (None, PHOTO):
                    cells = {}
                    for name, base in servers.items():
                        cells[name] = run_cell(
                            base, clients, photo, seconds=args.seconds, count=args.count, warmup=args.warmup
                        )
                        for status, n in cells[name].answers.items():
                            if status != 201:
                                problems.append(
                                    (
                                        label,
                                        name,
                                        clients,
                                        photo is not None,
                                        status,
                                        n,
                                        cells[name].samples.get(status, ""),
                                    )
                                )
                    rows.append((label, clients, photo is not None, cells["baseline"], cells["real"]))
                    print_row(rows[-1], flush=True)
            if args.memory:
                print_memory(real, servers["real"], args.memory, label, problems)
        except Exception as exc:
            print(f"{label}: stopped by {type(exc).__name__}: {exc}", flush=True)
        finally:
            baseline.stop()
            real.stop()
            for server, name in ((real, "real"), (baseline, "baseline")):
                errors = [
                    line
                    for line in server.log.read_text(errors="replace").splitlines()
                    if "[ERROR]" in line or "Traceback" in line or "WORKER TIMEOUT" in line
                ]
                if errors:
                    problems.append((label, name, "-", "-", "gunicorn log", len(errors), errors[0][:200]))


def print_memory(server: LiveServer, url: str, count: int, label: str, problems: list) -> None:
    """Post `count` submissions with a photo from 4 clients; print each worker's RSS before and after."""
    before = worker_memory(server.process.pid)
    cell = run_cell(url, 4, PHOTO, count=count, warmup=0)
    after = worker_memory(server.process.pid)
    for status, n in cell.answers.items():
        if status != 201:
            problems.append((label, "real", 4, True, status, n, cell.samples.get(status, "")))
    print(f"\n{label}: worker memory over {cell.ok} submissions with a 50 KB photo ({cell.rate:.1f}/s, 4 clients)")
    print(f"{'worker':>8} {'RSS before':>11} {'RSS after':>10} {'growth':>8} {'peak (HWM)':>11}")
    for pid in sorted(before.keys() | after.keys()):
        rss_before = f"{before[pid][0] / 1024:.1f}MB" if pid in before else "(new)"
        rss_after = f"{after[pid][0] / 1024:.1f}MB" if pid in after else "(gone)"
        growth = f"{(after[pid][0] - before[pid][0]) / 1024:+.1f}MB" if pid in before and pid in after else "-"
        peak = f"{after[pid][1] / 1024:.1f}MB" if pid in after else "-"
        print(f"{pid:>8} {rss_before:>11} {rss_after:>10} {growth:>8} {peak:>11}")
    if before.keys() != after.keys():
        print("  workers were replaced during the run (restarted or killed): see the gunicorn log")


HEADER = (
    f"{'engine':<18}{'clients':>7}{'photo':>6}{'base/s':>9}{'real/s':>9}{'ratio':>7}"
    f"{'base p50':>10}{'base p95':>10}{'real p50':>10}{'real p95':>10}{'base n':>8}{'real n':>8}"
)


def print_row(row, flush: bool = False) -> None:
    label, clients, photo, base, real = row
    ratio = real.rate / base.rate if base.rate else math.nan
    print(
        f"{label:<18}{clients:>7}{'50KB' if photo else 'no':>6}{base.rate:>9.1f}{real.rate:>9.1f}{ratio:>7.2f}"
        f"{base.percentile(50):>10.1f}{base.percentile(95):>10.1f}{real.percentile(50):>10.1f}"
        f"{real.percentile(95):>10.1f}{base.ok:>8}{real.ok:>8}",
        flush=flush,
    )


def print_markdown(rows: list) -> None:
    print(
        "\n| engine | clients | photo | baseline subs/s | collector subs/s | collector/baseline "
        "| baseline p50/p95 ms | collector p50/p95 ms |\n|---|---|---|---|---|---|---|---|"
    )
    for label, clients, photo, base, real in rows:
        ratio = real.rate / base.rate if base.rate else math.nan
        print(
            f"| {label} | {clients} | {'50 KB' if photo else 'none'} | {base.rate:.1f} | {real.rate:.1f} | "
            f"{ratio:.2f} | {base.percentile(50):.1f} / {base.percentile(95):.1f} | "
            f"{real.percentile(50):.1f} / {real.percentile(95):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", action="append", help="a database URL, or `sqlite` / `postgresql`; repeatable (default: both)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per cell and server")
    parser.add_argument("--count", type=int, default=None, help="submissions per cell and server, instead of --seconds")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients, comma-separated")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured submissions per client before each cell")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per cell, 1 warm-up submission")
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="then post N submissions to the real server and print each worker's RSS",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args()
    args.clients = [int(n) for n in args.clients.split(",")]
    if args.quick:
        args.seconds, args.warmup = 1.0, 1
    gunicorn = gunicorn_settings()
    measure = f"{args.count} submissions" if args.count else f"{args.seconds:g} s"
    print(
        f"gunicorn from {CONFIG.relative_to(ROOT)}: {gunicorn['workers']} workers, worker class "
        f"{gunicorn['worker_class']}, {gunicorn['threads']} threads; {measure} per cell and server; "
        f"{len(PHOTO) // 1024} KB photo; {os.cpu_count()} CPUs",
        flush=True,
    )
    print(HEADER, flush=True)
    rows: list = []
    problems: list = []
    for spec in args.database or ["sqlite", "postgresql"]:
        bench_engine(spec, args, gunicorn, rows, problems)
    print(
        "\nbase = benchmarks.baseline_app (raw INSERT), real = the collector; subs/s counts 201 answers; "
        "latencies in ms"
    )
    print(HEADER)
    for row in rows:
        print_row(row)
    if args.markdown:
        print_markdown(rows)
    if problems:
        print("\nAnswers other than 201 and gunicorn log errors (engine, server, clients, photo, what, count, first):")
        for problem in problems:
            print("  " + " | ".join(str(p) for p in problem[:-1]) + f" | {problem[-1]!r}")
    else:
        print("\nEvery answer was 201; no errors in the gunicorn logs.")


if __name__ == "__main__":
    main()
