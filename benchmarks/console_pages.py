"""The console's pages at scale (issue 18): each page's time over 100,000 case_intake records, p50 and p95.

Run: .venv/bin/python -m benchmarks.console_pages [--records 100000] [--runs 30] [--quick]
     [--database sqlite|postgresql|URL ...] [--only records] [--keep DIR]

For each database (a new SQLite file; `BENCH_DATABASE_URL` for PostgreSQL, created if missing and emptied,
never `test` or `postgres`) it publishes the bundled case_intake form and seeds N records with the read-side
benchmark's loader (benchmarks.seed_cases: real instance XML through the real normaliser, bulk-inserted, the
records' arrival times spread over five years), adds a provincial officer of province 05 and an analyst, and
then times each page through the Flask test client, signed in through the console's own form as a browser
is, after two unmeasured loads:

- `records`: the submissions table (GET /console/projects/1/forms/case_intake/submissions), its first page as
  an administrator, a provincial officer (05) and an analyst (redacted); the first page filtered by province
  and a date range; and the 21st page, reached by following "next page" 20 times (keyset paging: as fast as
  the first).

One function per page (`PAGES`); a page added to the console adds its function there. Prints a markdown
table; never fails on a timing.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.read_side import ADMIN, PASSWORD, machine  # noqa: E402
from benchmarks.seeded import seeded  # noqa: E402

#: The users the pages are loaded as, beside read_side's administrator: (email, role, provinces).
USERS = (("officer05@bench.la", "provincial-officer", ["05"]), ("analyst@bench.la", "analyst", []))
TABLE = "/console/projects/1/forms/case_intake/submissions"


def signed_in(app, email: str):
    """Return a test client signed in to the console as `email` (the sign-in form with its CSRF token)."""
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/console/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def timed(client, url: str, runs: int) -> tuple[float, float, str]:
    """Load `url` twice unmeasured, then `runs` times; return (p50 ms, p95 ms, the last page's HTML)."""
    html = ""
    for _ in range(2):
        html = client.get(url).get_data(as_text=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        html = response.get_data(as_text=True)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], html


def add_users(app) -> None:
    """Create the provincial officer and the analyst (unless a kept database has them)."""
    from sqlalchemy import select

    from ingest.accounts.users import create_user
    from ingest.models import User

    session = app.extensions["collector.sessions"]()
    for email, role, provinces in USERS:
        if session.scalar(select(User).where(User.email == email)) is None:
            create_user(session, email, PASSWORD, role, provinces=provinces)
    session.commit()
    session.close()


def page_records(app, label: str, records: int, runs: int) -> list[str]:
    """The submissions table: first page by role, a filtered first page, and the 21st page."""
    rows = []
    clients = {
        "administrator": signed_in(app, ADMIN),
        "provincial officer (05)": signed_in(app, USERS[0][0]),
        "analyst (redacted)": signed_in(app, USERS[1][0]),
    }
    for who, client in clients.items():
        p50, p95, html = timed(client, TABLE, runs)
        shown = html.count('<tr>\n      <td><a href="')
        rows.append(
            f"| {label} | submissions table, first page, {who} | {records:,} | {shown} | {p50:,.0f} / {p95:,.0f} |"
        )
    admin = clients["administrator"]
    filtered = f"{TABLE}?province=05&start=2023-01-01&end=2024-12-31"
    p50, p95, html = timed(admin, filtered, runs)
    shown = html.count('<tr>\n      <td><a href="')
    rows.append(
        f"| {label} | first page, province 05 and two years, administrator | {records:,} | {shown} | "
        f"{p50:,.0f} / {p95:,.0f} |"
    )
    url = TABLE
    for _ in range(20):
        html = admin.get(url).get_data(as_text=True)
        found = re.search(r'href="(\?[^"]*)" rel="next"', html)
        url = TABLE + found.group(1).replace("&amp;", "&")
    p50, p95, html = timed(admin, url, runs)
    shown = html.count('<tr>\n      <td><a href="')
    rows.append(f"| {label} | 21st page (keyset), administrator | {records:,} | {shown} | {p50:,.0f} / {p95:,.0f} |")
    return rows


#: Each page's benchmark: name -> function(app, database label, records, runs) -> markdown rows.
PAGES: dict[str, Callable[..., list[str]]] = {"records": page_records}


def bench_database(spec: str, args, lines: list[str], notes: list[str]) -> None:
    with seeded(spec, args, "console-pages-", notes) as ready:
        if ready is None:
            return
        app, label, records = ready
        add_users(app)
        for name in args.only.split(","):
            for line in PAGES[name](app, label, records, args.runs):
                lines.append(line)
                print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 records, 5 runs")
    parser.add_argument("--database", action="append", help="sqlite, postgresql or a URL (default: both)")
    parser.add_argument("--only", default=",".join(PAGES), help=f"pages to time, of {', '.join(PAGES)}")
    parser.add_argument("--keep", metavar="DIR", help="keep the seeded databases in DIR and reuse them next time")
    args = parser.parse_args()
    if args.quick:
        args.records, args.runs = 2000, 5
    print(f"machine: {machine()}; command: {' '.join(['python -m benchmarks.console_pages', *sys.argv[1:]])}")
    lines: list[str] = []
    notes: list[str] = []
    for spec in args.database or ["sqlite", "postgresql"]:
        bench_database(spec, args, lines, notes)
    print("\n| database | page | records | rows shown | p50 / p95 ms |\n|---|---|---|---|---|")
    print("\n".join(lines))
    print("\n" + "\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
