"""The console's dashboard at scale (issue 18): the page, and one chart's CSV, over 100,000 cases.

    python -m benchmarks.console_dashboard [--records 100000] [--runs 10] [--database sqlite|postgresql|URL ...]
        [--keep DIR] [--quick]

For each database it seeds the case_intake form as `benchmarks.read_side` does (the same seeder, the same
case register, `--keep DIR` to reuse a seeded database), signs a statistician in through the console's own
form, and times GET /console/projects/1/dashboard (six suppressed tables from the statistics service, drawn
as SVG, with their tables) with no filter and with ?year=, and one chart's CSV, through Flask's test client:
the whole request, the audit of each read included, no network. Prints p50 / p95 in a markdown table; never
fails on a timing.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.read_side import _percentiles, machine  # noqa: E402 (after the path)
from benchmarks.seeded import seeded  # noqa: E402

STATISTICIAN, PASSWORD = "statistician@bench.la", "benchmark password"
PAGES = (
    ("dashboard, all years", "/console/projects/1/dashboard"),
    ("dashboard, one year", "/console/projects/1/dashboard?year={year}"),
    ("one chart's CSV (by province)", "/console/projects/1/dashboard/province.csv"),
)


def signed_in_client(app):
    """Return a test client signed in to the console as the benchmark's statistician (created if missing)."""
    from sqlalchemy import select

    from ingest.accounts.users import create_user
    from ingest.models import User

    session = app.extensions["collector.sessions"]()
    if session.scalar(select(User).where(User.email == STATISTICIAN)) is None:
        create_user(session, STATISTICIAN, PASSWORD, "statistician")
        session.commit()
    session.close()
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "email": STATISTICIAN, "password": PASSWORD}
    assert client.post("/console/login", data=data).status_code == 302, "the statistician could not sign in"
    return client


def time_pages(app, runs: int) -> list[tuple[str, dict]]:
    """GET each page `runs` times (after one warm-up); return (name, percentiles) per page."""
    client = signed_in_client(app)
    year = datetime.now(UTC).year - 1
    out = []
    for name, path in PAGES:
        url = path.format(year=year)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            response.get_data()
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        out.append((name.replace("one year", f"?year={year}"), _percentiles(times)))
    return out


def bench_database(spec: str, args, lines: list[str]) -> None:
    from sqlalchemy import func, select

    from ingest.models import Case

    with seeded(spec, args, "console-dashboard-") as ready:
        if ready is None:
            return
        app, label, _records = ready
        with app.app_context():
            session = app.extensions["collector.sessions"]()
            cases = session.scalar(select(func.count(Case.id)).where(Case.project_id == 1))
            session.close()
            for name, result in time_pages(app, args.runs):
                line = (
                    f"| {label} | {name} | {cases:,} cases | {result['p50'] * 1000:,.0f} / "
                    f"{result['p95'] * 1000:,.0f} | {result['runs']} |"
                )
                lines.append(line)
                print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database", action="append", help="sqlite, postgresql (BENCH_DATABASE_URL) or a URL")
    parser.add_argument("--keep", help="keep the seeded databases in DIR for the next run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 records, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.records, args.runs = 2_000, 3
    import logging

    logging.disable(logging.INFO)
    lines = [
        f"Console dashboard, {machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| database | page | records | p50 / p95 ms | runs |",
        "|---|---|---|---|---|",
    ]
    for spec in args.database or ["sqlite", "postgresql"]:
        bench_database(spec, args, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
