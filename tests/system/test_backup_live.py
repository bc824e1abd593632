"""`collector backup` while tablets submit to a live gunicorn (issue 20 item 2): every submission acknowledged
before the backup began is in the restore, and every restored submission is whole (its versions, attachments
and files), equal row for row to the server's."""

from __future__ import annotations

import threading
import time
import uuid

from tests.conftest import make_instance
from tests.support.backup import drop_database, empty_database, media_digests, tables
from tests.support.collect import Collect
from tests.support.live import LiveServer

PHOTO = b"\xff\xd8\xff\xe0" + b"a photo taken in the field" * 400


def _submit_until(tablet: Collect, stop: threading.Event, acked: list[tuple[float, str]]) -> None:
    """Send sample cases with a photo, one after another, noting when each was acknowledged (201)."""
    while not stop.is_set():
        iid = f"uuid:{uuid.uuid4()}"
        answer = tablet.submit(make_instance(iid, photo="photo.jpg"), {"photo.jpg": PHOTO + iid.encode()})
        if answer.status_code == 201:
            acked.append((time.monotonic(), iid))
        stop.wait(0.1)  # a steady trickle: the machine is shared, and a handful proves the point


def test_a_backup_taken_while_submissions_arrive_restores_whole(clean_db, tmp_path):
    live = LiveServer(clean_db, tmp_path / "instance", workers=2).start()
    target = None
    try:
        tablet = Collect(live.sample_device())
        acked: list[tuple[float, str]] = []
        stop = threading.Event()
        sender = threading.Thread(target=_submit_until, args=(tablet, stop, acked), daemon=True)
        sender.start()
        deadline = time.monotonic() + 60
        while len(acked) < 3:  # a handful is enough on a loaded machine
            assert time.monotonic() < deadline and sender.is_alive(), "no submission was acknowledged"
            time.sleep(0.05)
        began = time.monotonic()
        live.cli("backup", "-o", str(tmp_path / "backup.tar"), COLLECTOR_BACKUP_PASSPHRASE="live passphrase")
        ended = time.monotonic()
        stop.set()
        sender.join(timeout=60)
        before = {iid for at, iid in acked if at < began}
        assert any(began <= at <= ended for at, _ in acked), "no submission arrived during the backup"

        target = empty_database(clean_db, tmp_path, "live_restore")
        restored_instance = tmp_path / "restored"
        live.cli(
            "restore",
            str(tmp_path / "backup.tar"),
            DATABASE_URL=target,
            COLLECTOR_INSTANCE_PATH=str(restored_instance),
            COLLECTOR_BACKUP_PASSPHRASE="live passphrase",
        )
    finally:
        live.stop()
    source, restored = tables(clean_db), tables(target)
    try:
        instance_ids = {row["instance_id"] for row in restored["submissions"]}
        assert before <= instance_ids, "a submission acknowledged before the backup is missing"
        # Whole: every restored row of a submission is the server's row, and every restored file has its bytes.
        for name in ("submissions", "submission_versions", "submission_attachments", "blobs"):
            server_rows = {row["id"]: row for row in source[name]}
            assert all(server_rows[row["id"]] == row for row in restored[name]), name
        versions = {v["submission_id"] for v in restored["submission_versions"]}
        assert versions == {s["id"] for s in restored["submissions"]}, "a submission without its version"
        blobs = {b["id"]: b["sha256"] for b in restored["blobs"]}
        files = media_digests(restored_instance / "media")
        for attachment in restored["submission_attachments"]:
            assert attachment["blob_id"] is not None
            assert files[blobs[attachment["blob_id"]]] == blobs[attachment["blob_id"]]
    finally:
        drop_database(target)
