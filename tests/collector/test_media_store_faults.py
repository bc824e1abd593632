"""A media store that cannot take files (a folder that cannot be written, object storage out of reach) is
answered 503 with Retry-After, never 500; nothing is stored, and Collect's next try succeeds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingest.models import SubmissionAttachment, SubmissionVersion
from ingest.storage import FileStore
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, count, openrosa_message, post
from tests.support.s3 import STORES


def _break(app, tmp_path):
    """Make the app's media store fail every write; return how to mend it."""
    store = app.extensions["collector.store"]
    if isinstance(store, FileStore):
        # A file where the folder should be: mkdir fails even for root, whom permissions do not stop.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        app.extensions["collector.store"] = FileStore(blocker / "media")
        return lambda: app.extensions.__setitem__("collector.store", store)
    bucket, store.bucket = store.bucket, "no-such-bucket"
    return lambda: setattr(store, "bucket", bucket)


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_a_store_that_cannot_write_is_503_with_retry_after_and_the_retry_is_stored(
    client, device, published_form, db_session, app, tmp_path
):
    xml = make_instance("uuid:store-down")
    mend = _break(app, tmp_path)
    response = post(client, device, xml, {"photo.jpg": JPEG})
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "try again" in openrosa_message(response)
    assert count(db_session, SubmissionVersion) == 0
    mend()
    assert post(client, device, xml, {"photo.jpg": JPEG}).status_code == 201
    db_session.rollback()  # a fresh look, after what the first count saw
    [attachment] = db_session.scalars(select(SubmissionAttachment)).all()
    with app.extensions["collector.store"].open(attachment.blob.sha256) as blob:
        assert blob.read() == JPEG


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_doctor_writes_reads_back_and_removes_a_probe_on_either_store(app):
    from collector.ops.doctor import check_media_store

    finding = check_media_store(app)
    assert finding.status == "ok" and finding.detail.endswith("writable")
    assert ("bucket" in finding.detail) == (app.config["MEDIA_STORE"] == "s3")
