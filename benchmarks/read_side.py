"""The read side at scale (issue 9): exports, statistics, OData and replay over 100,000 case_intake records.

Run: .venv/bin/python -m benchmarks.read_side [--records 100000] [--full] [--quick] [--runs 20]
     [--database sqlite|postgresql|URL ...] [--only csv,xlsx,central,stats,odata,replay] [--keep DIR]

For each database (a new SQLite file; `BENCH_DATABASE_URL` for PostgreSQL, created if missing and emptied,
never `test` or `postgres`) it publishes the bundled case_intake form, seeds N records with 2 route legs each
(benchmarks.seed_cases: real instance XML through the real normaliser, bulk-inserted), and in project 2 the
shape of ODK Central's published figure (1,205 records, 200 with a 50 KB photo). Each measurement then runs
in a child process of its own, whose peak-RSS mark is reset just before the work (so neither the seeding nor
the imports count; the whole process's peak, from wait4, is shown beside it):

- CSV zip export (ingest.exports.walk.csv_zip as an administrator) against a baseline: one plain SELECT of the same
  rows written by csv.writer into a deflated zip entry, no scope, redaction, paging or system columns;
- XLSX export (ingest.exports.xlsx), when that module is present;
- Central's shape: the CSV zip with the photos added (`store=`, as ?attachments=true) and without;
- statistics: ingest.stats.counts.case_table (count and suppression) by province,year and by exploitation_type,gender,
  p50 and p95 over --runs, against the database counting the same cells with GROUP BY;
- an OData page of 1,000 records through the Flask test client, when the route answers, against a plain SELECT
  of 1,000 root rows dumped as JSON;
- `collector ingest replay --form case_intake` (the real command, in-process), against parsing and normalising
  the same XML without writing anything.

`--full` then grows the form to 1,000,000 records and exports the CSV zip again (peak RSS should stay within
20% of the 100,000 figure). Prints a markdown table; never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password"
ADMIN = "admin@bench.la"
CENTRAL_RECORDS, CENTRAL_PHOTOS = 1205, 200


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def make_app(url: str, media: str):
    from collector import create_app

    return create_app({"TESTING": True, "DATABASE_URL": url, "MEDIA_DIR": media, "SECRET_KEY": "bench"})


# --- parent: set up, seed, run the children -------------------------------------------------------------


def setup(url: str, media: str):
    """Migrate, publish case_intake in projects 1 and 2 and create an administrator (unless a kept database
    has them); return (app, versions by project, records already stored by project)."""
    from sqlalchemy import func, select

    from collector.cli import upgrade_database
    from forms import BUNDLED_FORMS_DIR, find_media
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import create_user
    from ingest.models import Form, FormVersion, Submission, User
    from ingest.publishing.versions import ensure_project, publish

    upgrade_database(url)
    app = make_app(url, media)
    session = app.extensions["collector.sessions"]()
    path = BUNDLED_FORMS_DIR / "case_intake.xlsx"
    compiled = None
    versions, stored = {}, {}
    for project in (1, 2):
        version = session.scalar(
            select(FormVersion).join(Form).where(Form.project_id == project, Form.xml_form_id == "case_intake")
        )
        if version is None:
            compiled = compiled or compile_xlsform(path, validate=False)
            ensure_project(session, project)
            version = publish(
                session, app.extensions["collector.store"], project, compiled, find_media(path, compiled.media)
            ).version
        versions[project] = (version.form_id, version.id, version.version, version.fields)
        stored[project] = session.scalar(select(func.count(Submission.id)).where(Submission.form_id == version.form_id))
    if session.scalar(select(User).where(User.email == ADMIN)) is None:
        create_user(session, ADMIN, PASSWORD, "admin")
    session.commit()
    session.close()
    return app, versions, stored


def seed_form(app, version, project: int, first: int, count: int, photos: int = 0) -> float:
    """Seed `count` records into a project's case_intake; return the seconds it took."""
    from benchmarks.seed_cases import seed

    form_id, version_id, version_string, fields = version
    started = time.perf_counter()
    step = max(count // 10, 1)
    progress = {"done": 0, "next": step}

    def on_chunk(n: int) -> None:
        progress["done"] += n
        if progress["done"] >= progress["next"]:
            print(f"  seeded {progress['done']:,}/{count:,} ({time.perf_counter() - started:.0f} s)", flush=True)
            progress["next"] += step

    seed(
        app.extensions["collector.engine"],
        form_id=form_id,
        form_version_id=version_id,
        version=version_string,
        fields=fields,
        project_id=project,
        device_id=None,
        first=first,
        count=count,
        photos=photos,
        store=app.extensions["collector.store"],
        on_chunk=on_chunk,
    )
    return time.perf_counter() - started


def child(task: str, url: str, media: str, **options) -> dict:
    """Run one measurement in a new process; return its figures with its peak RSS (MiB, from wait4)."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks.read_side",
        "--child",
        task,
        "--url",
        url,
        "--media",
        media,
        "--options",
        json.dumps(options),
    ]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return {"error": f"exit {process.returncode}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


# --- children: one measurement each ---------------------------------------------------------------------


def _rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> float:
    """Reset the kernel's peak-RSS mark of this process (Linux: clear_refs 5); return the RSS now, in MiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _rss_mib()


def _session_as_admin(app):
    from sqlalchemy import select

    from ingest import scope
    from ingest.access import user_caller
    from ingest.models import User

    session = app.extensions["collector.sessions"]()
    scope.use(session, user_caller(session.scalar(select(User).where(User.email == ADMIN))))
    return session


def _form(session, project: int):
    from sqlalchemy import select

    from ingest.models import Form

    return session.scalar(select(Form).where(Form.project_id == project, Form.xml_form_id == "case_intake"))


def _drain(chunks, path: str) -> int:
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    return size


def _exporter():
    """Return (count_records, export(session, fmt, form, store=None)) wherever the export modules put them."""
    try:
        from ingest.exports.walk import count_records
    except ImportError:
        from ingest.exports.csv_zip import count_records
    try:
        from ingest.exports.service import export_records

        def export(session, fmt, form, **options):
            return export_records(session, fmt, form, **options)[1]()
    except ImportError:
        from ingest.exports import csv_zip

        def export(session, fmt, form, *, store=None, attachments=False):
            if fmt != "csv":
                raise LookupError(f"no {fmt} export yet")
            return csv_zip(session, form, store=store) if attachments else csv_zip(session, form)

    return count_records, export


def task_export(app, tmp, project=1, fmt="csv", attachments=False):
    """Export a form's records as an administrator to a file (as GET .../submissions.csv.zip streams it)."""
    count_records, export = _exporter()
    session = _session_as_admin(app)
    form = _form(session, project)
    records = count_records(session, form)
    # The media store goes to every export (choice lists from CSV media); the records' files only when asked.
    chunks = export(session, fmt, form, store=app.extensions["collector.store"], attachments=attachments)
    before = _reset_peak()
    started = time.perf_counter()
    size = _drain(chunks, f"{tmp}/export")
    return {"seconds": time.perf_counter() - started, "records": records, "bytes": size, "rss_before_mib": before}


def task_baseline(app, tmp, project=1):
    """The same rows by one plain SELECT, written by csv.writer into a deflated zip entry (no scope, no pages)."""
    import csv
    import io
    import zipfile

    from sqlalchemy import select

    from ingest.models import Form, Submission, SubmissionRow, SubmissionVersion

    def cell(value) -> str:
        return "" if value is None else " ".join(map(str, value)) if isinstance(value, list) else str(value)

    engine = app.extensions["collector.engine"]
    query = (
        select(SubmissionVersion.instance_id, SubmissionRow.path, SubmissionRow.position, SubmissionRow.data)
        .join(SubmissionRow, SubmissionRow.submission_version_id == SubmissionVersion.id)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Form, Form.id == Submission.form_id)
        .where(Form.project_id == project, Form.xml_form_id == "case_intake", SubmissionVersion.current.is_(True))
        .order_by(SubmissionRow.id)
    )
    before = _reset_peak()
    started = time.perf_counter()
    records = 0
    with (
        open(f"{tmp}/baseline.zip", "wb") as raw,
        zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("rows.csv", "w", force_zip64=True) as entry,
        engine.connect() as conn,
    ):
        text = io.TextIOWrapper(entry, encoding="utf-8", newline="")
        writer = csv.writer(text)
        for instance_id, path, position, data in conn.execution_options(yield_per=1000).execute(query):
            writer.writerow([instance_id, path, position, *(cell(v) for v in data.values())])
            records += path.count("/") == 1
        text.flush()
        text.detach()
    return {
        "seconds": time.perf_counter() - started,
        "records": records,
        "bytes": os.path.getsize(f"{tmp}/baseline.zip"),
        "rss_before_mib": before,
    }


def _percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    pick = lambda p: ordered[max(0, -(-len(ordered) * p // 100) - 1)]  # noqa: E731 (nearest rank)
    return {"p50": pick(50), "p95": pick(95), "runs": len(ordered)}


def task_stats(app, tmp, runs=20):
    """Count and suppress the register by two pairs of dimensions, `runs` times each; and GROUP BY in SQL."""
    from sqlalchemy import func, select

    from ingest.models import Case
    from ingest.stats.counts import case_table

    session = _session_as_admin(app)
    out = {}
    first = func.coalesce(Case.first_screening_date, Case.intake_date)
    year = (
        func.extract("year", first) if session.get_bind().dialect.name == "postgresql" else func.strftime("%Y", first)
    )
    for by, sql in ((["province", "year"], (Case.province_code, year)), (["exploitation_type", "gender"], None)):
        times, cells = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            table = case_table(session, 1, by)
            times.append(time.perf_counter() - started)
            session.rollback()
            cells = len(table.counts)
        out[",".join(by)] = {**_percentiles(times), "cells": cells, "hidden": len(table.hidden)}
        if sql is not None:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                session.execute(select(*sql, func.count()).where(Case.project_id == 1).group_by(*sql)).all()
                times.append(time.perf_counter() - started)
                session.rollback()
            out[",".join(by)]["baseline"] = _percentiles(times)
    out["cases"] = session.scalar(select(func.count(Case.id)).where(Case.project_id == 1))
    return out


def task_odata(app, tmp, runs=20, top=1000):
    """GET an OData page of `top` records through the test client; and a plain SELECT of as many root rows."""
    from sqlalchemy import select

    from ingest.models import SubmissionRow

    client = app.test_client()
    token = client.post("/v1/sessions", json={"email": ADMIN, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/v1/projects/1/forms/case_intake.svc/Submissions?$top={top}"
    first = client.get(url, headers=headers)
    if first.status_code != 200:
        return {"missing": f"{first.status_code} from {url}"}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append(time.perf_counter() - started)
    rows = len(response.get_json().get("value", []))
    engine = app.extensions["collector.engine"]
    base = []
    for _ in range(runs):
        started = time.perf_counter()
        with engine.connect() as conn:
            data = (
                conn.execute(
                    select(SubmissionRow.data)
                    .where(SubmissionRow.parent_id.is_(None))
                    .order_by(SubmissionRow.id)
                    .limit(top)
                )
                .scalars()
                .all()
            )
        json.dumps({"value": data}, ensure_ascii=False)
        base.append(time.perf_counter() - started)
    return {**_percentiles(times), "rows": rows, "baseline": _percentiles(base)}


def task_replay(app, tmp):
    """Run `collector ingest replay --form case_intake` in this process, as the CLI does."""
    from collector.cli import main

    count_records, _export = _exporter()
    session = _session_as_admin(app)
    records = count_records(session, _form(session, 1)) + count_records(session, _form(session, 2))
    session.close()
    before = _reset_peak()
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(main, ["ingest", "replay", "--form", "case_intake"])
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(result.output[-500:])
    return {
        "seconds": seconds,
        "records": records,
        "rss_before_mib": before,
        "said": result.output.strip().splitlines()[-1],
    }


def task_normalise(app, tmp):
    """Parse and normalise every current case_intake version, keyset-paged, writing nothing (replay's floor)."""
    from sqlalchemy import select

    from ingest.models import FormVersion, SubmissionVersion
    from ingest.normalise import normalise
    from ingest.xmlsafe import parse

    engine = app.extensions["collector.engine"]
    fields = {}
    before = _reset_peak()
    started = time.perf_counter()
    after, records = 0, 0
    with engine.connect() as conn:
        while True:
            page = conn.execute(
                select(SubmissionVersion.id, SubmissionVersion.form_version_id, SubmissionVersion.xml)
                .where(SubmissionVersion.id > after)
                .order_by(SubmissionVersion.id)
                .limit(500)
            ).all()
            if not page:
                break
            for _version_id, form_version_id, xml in page:
                if form_version_id not in fields:
                    fields[form_version_id] = conn.scalar(
                        select(FormVersion.fields).where(FormVersion.id == form_version_id)
                    )
                normalise(parse(xml), fields[form_version_id])
            after, records = page[-1][0], records + len(page)
            conn.rollback()
    return {"seconds": time.perf_counter() - started, "records": records, "rss_before_mib": before}


TASKS = {
    "export": task_export,
    "baseline": task_baseline,
    "stats": task_stats,
    "odata": task_odata,
    "replay": task_replay,
    "normalise": task_normalise,
}


def run_child(task: str, url: str, media: str, options: dict) -> None:
    import logging

    logging.disable(logging.INFO)
    app = make_app(url, media)
    with tempfile.TemporaryDirectory(prefix="read-side-") as tmp, app.app_context():
        if task in ("stats", "odata"):
            _reset_peak()
        result = TASKS[task](app, tmp, **options)
    # The peak while measuring: the mark was reset just before the work, after imports and the app.
    result["work_peak_mib"] = _rss_mib("VmHWM")
    print(json.dumps(result))


# --- the run ---------------------------------------------------------------------------------------------


def mib(result: dict) -> str:
    """Peak RSS while measuring (and of the whole process, imports and app included), MiB."""
    if "work_peak_mib" not in result:
        return ""
    return f"{result['work_peak_mib']:,.0f} ({result['peak_mib']:,.0f})"


def rate_row(engine: str, what: str, result: dict, base: dict | None) -> str:
    if "error" in result:
        return f"| {engine} | {what} | | failed: {result['error']} | | | | |"
    rate = result["records"] / result["seconds"] if result["seconds"] else 0
    if "bytes" in result:
        what = f"{what} ({result['bytes'] / 2**20:,.1f} MiB)"
    ratio = f"{base['seconds'] / result['seconds']:.2f}" if base and "seconds" in base else ""
    return (
        f"| {engine} | {what} | {result['records']:,} | {result['seconds']:.2f} | {rate:,.0f} | {mib(result)} | "
        f"{base['seconds']:.2f} | {ratio} |"
        if base and "seconds" in base
        else f"| {engine} | {what} | {result['records']:,} | {result['seconds']:.2f} | {rate:,.0f} "
        f"| {mib(result)} | | |"
    )


def bench_database(spec: str, args, lines: list[str], notes: list[str]) -> None:
    from benchmarks.submit_rate import prepare

    with tempfile.TemporaryDirectory(prefix="read-side-") as tmp:
        work = Path(args.keep) / spec.split(":")[0] if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            if args.keep and spec in ("sqlite", "postgresql") and (work / "ready").exists():
                url, label = (work / "ready").read_text().split("\n", 1)
            else:
                url, label = prepare(spec, work)
        except Exception as exc:
            print(f"skipped {spec}: {type(exc).__name__}: {exc}", flush=True)
            return
        media = str(work / "media")
        app, versions, stored = setup(url, media)
        if args.keep:
            (work / "ready").write_text(f"{url}\n{label}")
        print(
            f"{label}: seeding {args.records:,} records and Central's {CENTRAL_RECORDS:,} "
            f"({stored[1]:,} and {stored[2]:,} there already)",
            flush=True,
        )
        if stored[1] < args.records:
            seconds = seed_form(app, versions[1], 1, stored[1], args.records - stored[1])
            notes.append(
                f"{label}: seeded {args.records - stored[1]:,} records in {seconds:.0f} s "
                f"({(args.records - stored[1]) / seconds:,.0f}/s)"
            )
        if stored[2] < CENTRAL_RECORDS:
            seed_form(
                app,
                versions[2],
                2,
                10**8 + stored[2],
                CENTRAL_RECORDS - stored[2],
                photos=max(CENTRAL_PHOTOS - stored[2], 0),
            )
        app.extensions["collector.engine"].dispose()
        wanted = set(args.only.split(","))

        def show(line: str) -> None:
            lines.append(line)
            print(line, flush=True)

        n = f"{max(stored[1], args.records):,}"
        base = None
        if "csv" in wanted or "xlsx" in wanted:
            base = child("baseline", url, media)
            show(rate_row(label, "baseline: SELECT + csv.writer", base, None))
        if "csv" in wanted:
            show(rate_row(label, f"CSV zip export, {n} records", child("export", url, media), base))
        if "xlsx" in wanted:
            try:
                from ingest.exports.xlsx import xlsx  # noqa: F401
            except ImportError:
                notes.append("XLSX: ingest.exports.xlsx is not there yet; not measured")
            else:
                show(rate_row(label, f"XLSX export, {n} records", child("export", url, media, fmt="xlsx"), base))
        if "central" in wanted:
            base = child("baseline", url, media, project=2)
            show(rate_row(label, "Central's shape: baseline", base, None))
            show(rate_row(label, "Central's shape: CSV zip", child("export", url, media, project=2), base))
            show(
                rate_row(
                    label,
                    "Central's shape: CSV zip + 200 photos",
                    child("export", url, media, project=2, attachments=True),
                    base,
                )
            )
        if "stats" in wanted:
            result = child("stats", url, media, runs=args.runs)
            for by in ("province,year", "exploitation_type,gender"):
                cell = result.get(by, {})
                if not cell:
                    show(f"| {label} | stats by {by} | | failed: {result.get('error')} | | | | |")
                    continue
                base = cell.get("baseline")
                show(
                    f"| {label} | stats by {by} ({cell['cells']} cells, {cell['hidden']} hidden), p50 / p95 ms | "
                    f"{result['cases']:,} cases | {cell['p50'] * 1000:.0f} / {cell['p95'] * 1000:.0f} | | "
                    f"{mib(result)} | "
                    + (
                        f"{base['p50'] * 1000:.1f} / {base['p95'] * 1000:.1f} (GROUP BY) | "
                        f"{base['p50'] / cell['p50']:.3f} |"
                        if base
                        else " | |"
                    )
                )
        if "odata" in wanted:
            result = child("odata", url, media, runs=args.runs)
            if "missing" in result or "error" in result:
                notes.append(f"{label}: OData not measured ({result.get('missing') or result.get('error')})")
            else:
                base = result["baseline"]
                show(
                    f"| {label} | OData Submissions?$top=1000, p50 / p95 ms | {result['rows']:,} | "
                    f"{result['p50'] * 1000:.0f} / {result['p95'] * 1000:.0f} | | {mib(result)} | "
                    f"{base['p50'] * 1000:.0f} / {base['p95'] * 1000:.0f} | {base['p50'] / result['p50']:.2f} |"
                )
        if "replay" in wanted:
            base = child("normalise", url, media)
            show(rate_row(label, "baseline: parse + normalise only", base, None))
            result = child("replay", url, media)
            show(rate_row(label, "collector ingest replay --form case_intake", result, base))
            if "said" in result:
                notes.append(f"{label}: replay said: {result['said']}")
        if args.full:
            have = max(stored[1], args.records)
            more = args.full_records - have
            print(f"{label}: seeding {max(more, 0):,} more records for the --full CSV run", flush=True)
            if more > 0:
                seconds = seed_form(app, versions[1], 1, have, more)
                notes.append(f"{label}: seeded {more:,} more in {seconds:.0f} s")
            app.extensions["collector.engine"].dispose()
            full = f"{args.full_records:,}"
            base = child("baseline", url, media)
            show(rate_row(label, f"baseline: SELECT + csv.writer, {full}", base, None))
            show(rate_row(label, f"CSV zip export, {full} records", child("export", url, media), base))
        app.extensions["collector.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="also export the CSV zip of 1,000,000 records")
    parser.add_argument("--full-records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 records, 3 runs")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", action="append", help="sqlite, postgresql or a URL (default: both)")
    parser.add_argument("--only", default="csv,xlsx,central,stats,odata,replay")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the SQLite file and media in DIR and the PostgreSQL "
        "database seeded, and reuse them next time (only missing records are seeded)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.url, args.media, json.loads(args.options))
        return
    if args.quick:
        args.records, args.runs, args.full_records = 2000, 3, 20_000
    print(f"machine: {machine()}; command: {' '.join(['python -m benchmarks.read_side', *sys.argv[1:]])}", flush=True)
    lines: list[str] = []
    notes: list[str] = []
    for spec in args.database or ["sqlite", "postgresql"]:
        bench_database(spec, args, lines, notes)
    print(
        "\n| database | measurement | records | seconds | records/s | peak RSS MiB (process) | baseline | "
        "baseline/ours |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    print("\n" + "\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
