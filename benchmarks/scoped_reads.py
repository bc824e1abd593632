"""What the protection layer costs a reader: listing a form's records through the API by role.

Run: .venv/bin/python -m benchmarks.scoped_reads [--records 2000] [--database-url URL]

Stores N records of the sample form (half in province 01, half in 05) straight through the write path,
then times `GET .../submissions` (every record, with data) in one process for: the server itself with no
scope (the baseline: the same view code, the scope hook bypassed), an administrator (scope criteria on every
query, nothing hidden), a provincial officer (half the records) and an analyst (every record, redacted).
Prints records per second and the ratio to the baseline. Default database: a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def build(url: str, media: str, records: int):
    from collector import create_app
    from collector.cli import upgrade_database
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import create_user
    from ingest.publishing.versions import ensure_project, publish
    from ingest.receiving.submissions import receive_submission
    from tests.conftest import make_instance

    upgrade_database(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "MEDIA_DIR": media, "SECRET_KEY": "bench"})
    session = app.extensions["collector.sessions"]()
    store = app.extensions["collector.store"]
    ensure_project(session, 1)
    data = ROOT / "tests" / "data"
    publish(
        session,
        store,
        1,
        compile_xlsform(data / "sample_case.xlsx"),
        {"provinces.csv": (data / "media" / "provinces.csv").read_bytes()},
    )
    for email, role, provinces in (
        ("admin@b.la", "admin", ()),
        ("officer@b.la", "provincial-officer", ("05",)),
        ("analyst@b.la", "analyst", ()),
    ):
        create_user(session, email, PASSWORD, role, provinces=provinces)
    session.commit()
    for n in range(records):
        province = b"05" if n % 2 else b"01"
        xml = make_instance(f"uuid:bench-{n}", photo=None).replace(
            b"<province>01</province>", b"<province>" + province + b"</province>"
        )
        receive_submission(session, store, project_id=1, xml=xml)
    session.close()
    return app


def timed_list(app, email: str | None, rounds: int) -> tuple[float, int]:
    """Return (seconds per listing, records listed) for a caller (None: the scope hook bypassed)."""
    from ingest import scope

    client = app.test_client()
    headers = {}
    if email:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()
    else:
        headers["Authorization"] = "Basic " + base64.b64encode(f"admin@b.la:{PASSWORD}".encode()).decode()
    original = scope._criteria
    if email is None:
        scope._criteria = lambda caller: ()  # the baseline: the same views without scope criteria
    try:
        client.get("/v1/projects/1/forms/sample_case/submissions", headers=headers)  # warm caches
        started = time.perf_counter()
        for _ in range(rounds):
            response = client.get("/v1/projects/1/forms/sample_case/submissions", headers=headers)
            assert response.status_code == 200, response.get_data()[:200]
        return (time.perf_counter() - started) / rounds, len(response.get_json())
    finally:
        scope._criteria = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = build(url, f"{tmp}/media", args.records)
        print(
            f"machine: {machine()}; database: {url.split(':', 1)[0]}; {args.records} records, "
            f"{args.rounds} listings each"
        )
        print("| caller | records listed | records/s | vs no scope |\n|---|---|---|---|")
        base = None
        for label, email in (
            ("no scope (baseline)", None),
            ("admin", "admin@b.la"),
            ("provincial officer (05)", "officer@b.la"),
            ("analyst (redacted)", "analyst@b.la"),
        ):
            seconds, listed = timed_list(app, email, args.rounds)
            rate = listed / seconds
            base = base or rate
            print(f"| {label} | {listed} | {rate:,.0f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
