"""Submissions per second through gunicorn: the full path against a raw-INSERT baseline, interleaved in one run.

Run: .venv/bin/python -m benchmarks.submit_rate [--full] [--rounds 5] [--seconds S] [--database URL ...]
     [--memory N] [--markdown]

For each database it starts two gunicorn servers with the settings of `deploy/gunicorn.conf.py` (its worker
count, worker class and threads): the collector (the full path: parse, check, store raw, normalise, register,
audit), and `benchmarks.baseline_app`, a minimal Flask app that reads the multipart body, finds the instanceID
with a regex and INSERTs the raw XML and each file into one table, on the same database. ODK Collect emulators
(`tests.support.collect`, python-requests, one thread and one keep-alive session each) post new instances of
the sample form in four scenarios: sequential without and with a 50 KB photo, 4 and 16 concurrent clients.

Each round starts with VACUUM ANALYZE (ANALYZE on SQLite), then measures every scenario on both servers, one
after the other (which goes first alternates between rounds); the figures are the medians over the rounds
(5). It prints submissions/s, p50 latency, the ratio full/baseline, the 16-/4-client ratio, and the share of
the CPU the full path's busiest worker took (an even spread is 1/workers); it counts every answer other than
201 instead of failing. Quick by default (1 s per cell); `--full` or `BENCH_FULL=1` gives 5 s per cell.

`--database` may be given more than once; `sqlite` means a fresh file in a temporary folder and
`postgresql` the URL in `BENCH_DATABASE_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/bench),
which is created if missing and emptied (DROP SCHEMA public CASCADE) before the run. Default: both.
`--memory N` then posts N more submissions to the full path and prints each worker's RSS before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import runpy
import sqlite3
import statistics
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


def print_memory(server: LiveServer, url: str, count: int, label: str, problems: list) -> None:
    """Post `count` submissions with a photo from 4 clients; print each worker's RSS before and after."""
    before = worker_memory(server.process.pid)
    cell = run_cell(url, 4, PHOTO, count=count, warmup=0)
    after = worker_memory(server.process.pid)
    for status, n in cell.answers.items():
        if status != 201:
            problems.append((label, "full", "memory", "-", status, n, cell.samples.get(status, "")))
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


#: What the issue measured (issue 20): sequential without and with a photo, then 4 and 16 clients without one.
SCENARIOS = (
    ("sequential, XML", 1, False),
    ("sequential, 50 KB photo", 1, True),
    ("4 clients", 4, False),
    ("16 clients", 16, False),
)
#: `BENCH_FULL=1` (or `--full`): the full size; the default is a quick but real run of the same cells.
FULL = {"seconds": 5.0, "rounds": 5, "warmup": 3}
QUICK = {"seconds": 1.0, "rounds": 5, "warmup": 1}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def vacuum_analyze(url: str) -> None:
    """VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite), so both servers meet fresh statistics each round."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT") if not url.startswith("sqlite") else None
    if engine is None:
        with sqlite3.connect(sa.make_url(url).database) as conn:
            conn.execute("ANALYZE")
        return
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def worker_cpu(master: int) -> dict[int, float]:
    """Return {pid: user+system CPU seconds} for each worker of the gunicorn master `master`."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in worker_memory(master):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_shares(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """Each worker's share of the CPU the workers used between two readings, largest first."""
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(used)
    return sorted((u / total for u in used), reverse=True) if total > 0 else []


def bench_engine(spec: str, args, gunicorn: dict, results: list, problems: list) -> None:
    """Measure every scenario on one database, the two servers interleaved, `args.rounds` rounds."""
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
        cells: dict[tuple[str, str], list[Cell]] = {}
        shares: dict[tuple[str, str], list[list[float]]] = {}
        try:
            real.migrate().start()
            baseline.start()
            servers = {"baseline": (baseline, baseline.url), "full": (real, real.sample_device())}
            print(f"{label}: full path {real.url}, baseline {baseline.url}", flush=True)
            for _server, base in servers.values():  # first requests: imports, pools, the first form lookup
                run_cell(base, 16, PHOTO, count=2 * workers * 16, warmup=0)
            for round_no in range(1, args.rounds + 1):
                vacuum_analyze(url)
                for name, clients, photo in SCENARIOS:
                    # Alternate which server goes first, so neither always meets the other's leftovers.
                    order = list(servers.items())
                    if round_no % 2 == 0:
                        order.reverse()
                    for server_name, (server, base) in order:
                        before = worker_cpu(server.process.pid)
                        cell = run_cell(
                            base, clients, PHOTO if photo else None, seconds=args.seconds, warmup=args.warmup
                        )
                        shares.setdefault((name, server_name), []).append(
                            cpu_shares(before, worker_cpu(server.process.pid))
                        )
                        cells.setdefault((name, server_name), []).append(cell)
                        for status, n in cell.answers.items():
                            if status != 201:
                                problems.append(
                                    (label, server_name, name, round_no, status, n, cell.samples.get(status, ""))
                                )
                print(
                    f"  round {round_no}: "
                    + ", ".join(
                        f"{name} {cells[(name, 'full')][-1].rate:.0f}/{cells[(name, 'baseline')][-1].rate:.0f}"
                        for name, _c, _p in SCENARIOS
                    )
                    + " (full/baseline subs/s)",
                    flush=True,
                )
            for name, clients, _photo in SCENARIOS:
                results.append(Result(label, name, clients, cells[(name, "baseline")], cells[(name, "full")]))
                results[-1].full_shares = [max(s) for s in shares[(name, "full")] if s]
            if args.memory:
                print_memory(real, servers["full"][1], args.memory, label, problems)
        except Exception as exc:
            print(f"{label}: stopped by {type(exc).__name__}: {exc}", flush=True)
        finally:
            baseline.stop()
            real.stop()
            for server, name in ((real, "full"), (baseline, "baseline")):
                errors = [
                    line
                    for line in server.log.read_text(errors="replace").splitlines()
                    if "[ERROR]" in line or "Traceback" in line or "WORKER TIMEOUT" in line
                ]
                if errors:
                    problems.append((label, name, "-", "-", "gunicorn log", len(errors), errors[0][:200]))


@dataclass
class Result:
    """One scenario on one database: the cells of every round for both servers."""

    engine: str
    scenario: str
    clients: int
    baseline: list[Cell]
    full: list[Cell]
    full_shares: list[float] = field(default_factory=list)

    @property
    def baseline_rate(self) -> float:
        return median([c.rate for c in self.baseline])

    @property
    def full_rate(self) -> float:
        return median([c.rate for c in self.full])

    @property
    def ratio(self) -> float:
        return self.full_rate / self.baseline_rate if self.baseline_rate else math.nan

    def p50(self, cells: list[Cell]) -> float:
        return median([c.percentile(50) for c in cells])

    @property
    def busiest_worker(self) -> float:
        """The median share of the full path's CPU its busiest worker took (1/workers is even)."""
        return median(self.full_shares)


HEADER = (
    f"{'engine':<18}{'scenario':<25}{'baseline/s':>11}{'full/s':>9}{'ratio':>7}"
    f"{'base p50':>10}{'full p50':>10}{'busiest':>9}{'rounds':>8}"
)


def print_result(result: Result) -> None:
    print(
        f"{result.engine:<18}{result.scenario:<25}{result.baseline_rate:>11.1f}{result.full_rate:>9.1f}"
        f"{result.ratio:>7.2f}{result.p50(result.baseline):>10.1f}{result.p50(result.full):>10.1f}"
        f"{result.busiest_worker:>9.0%}{len(result.full):>8}"
    )


def print_markdown(results: list[Result]) -> None:
    print(
        "\n| engine | scenario | baseline subs/s | full path subs/s | full/baseline | p50 ms baseline / full "
        "| busiest worker's CPU share |\n|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r.engine} | {r.scenario} | {r.baseline_rate:.1f} | {r.full_rate:.1f} | {r.ratio:.2f} | "
            f"{r.p50(r.baseline):.1f} / {r.p50(r.full):.1f} | {r.busiest_worker:.0%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", action="append", help="a database URL, or `sqlite` / `postgresql`; repeatable (default: both)"
    )
    parser.add_argument("--full", action="store_true", help="the full size (also BENCH_FULL=1): 5 s per cell")
    parser.add_argument("--seconds", type=float, default=None, help="measuring time per cell, server and round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds; the figures are their medians")
    parser.add_argument("--warmup", type=int, default=None, help="unmeasured submissions per client before each cell")
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="then post N submissions to the full path and print each worker's RSS",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args()
    size = FULL if args.full or os.environ.get("BENCH_FULL", "") not in ("", "0") else QUICK
    for key, value in size.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    gunicorn = gunicorn_settings()
    print(
        f"gunicorn from {CONFIG.relative_to(ROOT)}: {gunicorn['workers']} workers, worker class "
        f"{gunicorn['worker_class']}, {gunicorn['threads']} threads; {args.rounds} rounds of {args.seconds:g} s "
        f"per cell and server, interleaved, after VACUUM ANALYZE; {len(PHOTO) // 1024} KB photo; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    results: list[Result] = []
    problems: list = []
    for spec in args.database or ["postgresql", "sqlite"]:
        bench_engine(spec, args, gunicorn, results, problems)
    print(
        "\nbaseline = benchmarks.baseline_app (raw INSERT), full = the collector (parse, check, store raw, normalise,"
        " register, audit);\nsubs/s counts 201 answers, medians over the rounds; ratio = full/baseline; p50 in ms;"
        " busiest = the share of the full path's CPU its busiest worker took"
    )
    print(HEADER)
    for result in results:
        print_result(result)
    by_engine: dict[str, dict[str, Result]] = {}
    for result in results:
        by_engine.setdefault(result.engine, {})[result.scenario] = result
    for engine, found in by_engine.items():
        if "4 clients" in found and "16 clients" in found:
            four, sixteen = found["4 clients"], found["16 clients"]
            print(
                f"{engine}: 16 clients / 4 clients = {sixteen.full_rate / four.full_rate:.2f} (full path), "
                f"{sixteen.baseline_rate / four.baseline_rate:.2f} (baseline)"
            )
    if args.markdown:
        print_markdown(results)
    if problems:
        print("\nAnswers other than 201 and gunicorn log errors (engine, server, scenario, round, what, count, first):")
        for problem in problems:
            print("  " + " | ".join(str(p) for p in problem[:-1]) + f" | {problem[-1]!r}")
    else:
        print("\nEvery answer was 201; no errors in the gunicorn logs.")


if __name__ == "__main__":
    main()
