"""Profile the submission path in-process (no HTTP) with pyinstrument, to see where a submission's time goes.

Run: .venv/bin/python -m benchmarks.profile_submit [--count 300] [--database URL] [--photo-kb 50]
Prints pyinstrument's call tree for `count` submissions of the sample form through the Flask test client,
the number of SQL statements per submission, and (measured first, without the profiler) the CPU time this
process spends on one submission. Without --database it uses a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import DATA, make_instance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--database", default=None)
    parser.add_argument("--photo-kb", type=int, default=50)
    args = parser.parse_args()
    from pyinstrument import Profiler

    from collector import create_app
    from collector.cli import upgrade_database
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import ensure_project, publish

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'profile.sqlite3'}"
        upgrade_database(url)
        app = create_app(
            {"DATABASE_URL": url, "MEDIA_DIR": str(Path(tmp) / "media"), "SECRET_KEY": "x", "TESTING": True}
        )
        session = app.extensions["collector.sessions"]()
        ensure_project(session, 1)
        compiled = compile_xlsform(DATA / "sample_case.xlsx", validate=False)
        publish(
            session,
            app.extensions["collector.store"],
            1,
            compiled,
            {"provinces.csv": (DATA / "media" / "provinces.csv").read_bytes()},
        )
        device = create_device(session, 1, "Profiler")
        session.commit()
        url_base = f"/v1/key/{device.token}/projects/1/submission"
        client = app.test_client()
        photo = b"\xff\xd8" + bytes(args.photo_kb * 1024)
        statements = [0]
        event.listen(
            app.extensions["collector.engine"],
            "before_cursor_execute",
            lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
        )

        def submit() -> int:
            data = {"xml_submission_file": (io.BytesIO(make_instance(f"uuid:{uuid.uuid4()}")), "i.xml", "text/xml")}
            if args.photo_kb:
                data["photo.jpg"] = (io.BytesIO(photo), "photo.jpg", "image/jpeg")
            return client.post(url_base, data=data, content_type="multipart/form-data").status_code

        for _ in range(20):
            submit()
        cpu = time.process_time()
        for _ in range(args.count):
            submit()
        cpu_ms = (time.process_time() - cpu) * 1000 / args.count
        statements[0] = 0
        profiler = Profiler()
        start = time.perf_counter()
        profiler.start()
        codes = [submit() for _ in range(args.count)]
        profiler.stop()
        seconds = time.perf_counter() - start
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        print(
            f"{args.count} submissions in {seconds:.2f} s ({args.count / seconds:.0f}/s in-process, profiled); "
            f"{statements[0] / args.count:.1f} SQL statements each; answers {sorted(set(codes))}; "
            f"unprofiled, this process's CPU: {cpu_ms:.2f} ms a submission (the database's not counted)"
        )
        app.extensions["collector.engine"].dispose()


if __name__ == "__main__":
    main()
