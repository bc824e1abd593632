"""What a tablet pays for an entity list (issue 19): the time and size of `cases.csv` as Collect fetches it.

Run: .venv/bin/python -m benchmarks.entity_lists [--per-province 10000] [--provinces 18] [--rounds 3]
     [--database-url URL]

Publishes the registration and follow-up forms of tests/data (entity list `cases`), stores `--per-province`
entities in each of `--provinces` provinces (straight into the table: the list reads only the entities, not
their versions), then times, in one process through the app (Flask's test client, no network), what Collect
asks for when it checks a form and downloads its media: formList (which hashes the caller's list), the
manifest, and the download of `cases.csv`, for a tablet of one province (its province's entities only) and for
a national tablet (every entity), and the download again as the first request after the list changed (the list
made anew rather than taken from the lists the process made lately). The baseline is the same bytes served as
an uploaded media file (what a trainer's hand-made list would cost), in the same process. Prints the median of
the rounds, the size (and the size gzip would make it), and the ratios to the baseline. Default database: a
temporary SQLite file.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROPERTIES = ("case_code", "province", "gender", "age_band", "status")
HEADERS = {"X-OpenRosa-Version": "1.0"}


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def _static_form(path: Path, version: str) -> None:
    """An XLSForm reading `static.csv`, an uploaded media file (the baseline)."""
    from openpyxl import Workbook

    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["select_one_from_file static.csv", "case", "Case"])
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["static_list", version])
    wb.save(path)


def build(url: str, media: str, per_province: int, provinces: int, tmp: Path):
    from sqlalchemy import insert

    from collector import create_app
    from collector.cli import upgrade_database
    from forms import find_media
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import create_device
    from ingest.entities.datasets import find_dataset
    from ingest.entity_models import Entity
    from ingest.publishing.versions import ensure_project, publish

    upgrade_database(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "MEDIA_DIR": media, "SECRET_KEY": "bench"})
    session = app.extensions["collector.sessions"]()
    store = app.extensions["collector.store"]
    ensure_project(session, 1)
    data = ROOT / "tests" / "data"
    for name in ("entities_registration.xlsx", "entities_followup.xlsx"):
        form = compile_xlsform(data / name, validate=False)
        publish(session, store, 1, form, find_media(data / name, form.media))
    session.commit()
    dataset = find_dataset(session, 1, "cases")
    codes = [f"{n:02d}" for n in range(1, provinces + 1)]
    batch = []
    for province in codes:
        for n in range(per_province):
            code = f"{province}-{n:06d}"
            gender = "Female" if n % 3 else "Male"
            batch.append(
                {
                    "dataset_id": dataset.id,
                    "uuid": str(uuid.uuid4()),
                    "label": f"{code} ({gender})",
                    "data": {
                        "case_code": code,
                        "province": province,
                        "gender": gender,
                        "age_band": "age_18_20",
                        "status": "open",
                    },
                    "version": 1 + n % 3,
                    "province_code": province,
                    "consent_sharing": True,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Entity.__table__), batch)
                batch = []
    if batch:
        session.execute(insert(Entity.__table__), batch)
    tablets = {"one province": create_device(session, 1, "Tablet 05", codes[min(4, len(codes) - 1)])}
    tablets["national"] = create_device(session, 1, "National tablet", None)
    session.commit()
    session.close()
    return app, tablets


def _time(client, url: str, rounds: int, changed: bool = False) -> tuple[float, bytes]:
    """Median seconds of a GET and its body; `changed`: as the first request after the list changed (the list
    made again, not taken from the lists made lately)."""
    from ingest.entities import media

    client.get(url, headers=HEADERS)  # warm caches
    times, body = [], b""
    for _ in range(rounds):
        if changed:
            media._MADE.clear()
        started = time.perf_counter()
        response = client.get(url, headers=HEADERS)
        body = response.data
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, body[:200]
    return statistics.median(times), body


def _baseline(app, tmp: Path, body: bytes, rounds: int) -> float:
    """Seconds to serve `body` as an uploaded media file of a form (same process, same route)."""
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import publish

    session = app.extensions["collector.sessions"]()
    path = tmp / f"static-{len(body)}.xlsx"
    _static_form(path, str(len(body)))  # a new version per size
    form = compile_xlsform(path, validate=False)
    publish(session, app.extensions["collector.store"], 1, form, {"static.csv": body}, force=True)
    device = create_device(session, 1, f"Baseline {len(body)}", None)
    session.commit()
    token = device.token
    session.close()
    seconds, served = _time(
        app.test_client(), f"/v1/key/{token}/projects/1/forms/static_list/attachments/static.csv", rounds
    )
    assert served == body
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-province", type=int, default=10000)
    parser.add_argument("--provinces", type=int, default=18)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        app, tablets = build(url, f"{tmp}/media", args.per_province, args.provinces, Path(tmp))
        print(
            f"machine: {machine()}; database: {url.split(':', 1)[0]}; {args.per_province:,} entities in each of "
            f"{args.provinces} provinces ({args.per_province * args.provinces:,}); seeded in "
            f"{time.perf_counter() - started:.0f} s; median of {args.rounds} rounds"
        )
        print(
            "| tablet | entities | cases.csv | gzip would be | formList | manifest | download | download after a "
            "change | uploaded-file baseline | download vs baseline | after a change vs baseline |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|"
        )
        client = app.test_client()
        for label, device in tablets.items():
            base = f"/v1/key/{device.token}/projects/1"
            form_list, _ = _time(client, f"{base}/formList", args.rounds)
            manifest, _ = _time(client, f"{base}/forms/entity_followup/manifest", args.rounds)
            download, body = _time(client, f"{base}/forms/entity_followup/attachments/cases.csv", args.rounds)
            made, _ = _time(client, f"{base}/forms/entity_followup/attachments/cases.csv", args.rounds, changed=True)
            baseline = _baseline(app, Path(tmp), body, args.rounds)
            rows = body.count(b"\n") - 1
            print(
                f"| {label} | {rows:,} | {len(body) / 2**20:.2f} MiB | {len(gzip.compress(body)) / 2**20:.2f} MiB | "
                f"{form_list * 1000:,.0f} ms | {manifest * 1000:,.0f} ms | {download * 1000:,.0f} ms | "
                f"{made * 1000:,.0f} ms | {baseline * 1000:,.0f} ms | {download / baseline:.1f}x | "
                f"{made / baseline:.1f}x |"
            )


if __name__ == "__main__":
    main()
