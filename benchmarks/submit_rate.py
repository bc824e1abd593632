"""Submissions per second through gunicorn, against a baseline of HEAD probes on the same server.

Run: .venv/bin/python -m benchmarks.submit_rate [--count 300] [--threads 8] [--database URL]
Without --database it uses a fresh SQLite file; pass a PostgreSQL URL (an empty, migrated database
is made by `collector db upgrade`) to measure that engine. Prints requests/s and the ratio to the baseline.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.collect import Collect  # noqa: E402
from tests.conftest import make_instance  # noqa: E402
from tests.live import LiveServer  # noqa: E402


def rate(count: int, threads: int, action) -> float:
    """Run `action(i)` count times on `threads` threads; return completions per second."""
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(action, range(count)))
    seconds = time.perf_counter() - start
    bad = [s for s in statuses if s not in (201, 204)]
    if bad:
        raise RuntimeError(f"unexpected answers: {bad[:5]}")
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        server = LiveServer(url, Path(tmp) / "instance", workers=args.workers).migrate().start()
        try:
            base = server.sample_device()
            tablets = [Collect(base, f"collect:bench{n}") for n in range(args.threads)]
            photo = b"\xff\xd8" + os.urandom(100_000)

            def probe(i: int) -> int:
                return tablets[i % args.threads].head_submission().status_code

            def submit(i: int) -> int:
                xml = make_instance(f"uuid:{uuid.uuid4()}")
                return tablets[i % args.threads].submit(xml, {"photo.jpg": photo}).status_code

            probe_rate = rate(args.count, args.threads, probe)
            one = rate(args.count // 3, 1, submit)
            many = rate(args.count, args.threads, submit)
        finally:
            server.stop()
    engine = url.split(":", 1)[0]
    print(f"engine {engine}, {args.workers} gunicorn workers, 100 KB photo per submission")
    print(f"{'HEAD probe (baseline)':<34}{probe_rate:>8.1f} req/s   1.00")
    print(f"{'submit, 1 thread':<34}{one:>8.1f} req/s   {one / probe_rate:.2f}")
    print(f"{f'submit, {args.threads} threads':<34}{many:>8.1f} req/s   {many / probe_rate:.2f}")


if __name__ == "__main__":
    main()
