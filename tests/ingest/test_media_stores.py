"""Both media stores keep the same promises: a local folder, and S3-compatible object storage (moto's server).

A file is there only once stored whole; a refused upload leaves nothing; a store that cannot write says so with
`StoreUnavailable` (503 for the client); a large file goes up and comes back without being held in memory.
"""

from __future__ import annotations

import hashlib
import io
import tracemalloc

import pytest

from ingest.storage import FileStore, StoreUnavailable
from tests.support.s3 import Zeros, make_store

PHOTO = b"\xff\xd8\xff\xe0 a small photo" * 100


def test_a_stream_is_stored_under_its_sha256_and_read_back(media_store):
    stored = media_store.put_stream(io.BytesIO(PHOTO))
    assert stored.sha256 == hashlib.sha256(PHOTO).hexdigest() and stored.size == len(PHOTO)
    assert stored.md5 == hashlib.md5(PHOTO).hexdigest()
    assert media_store.exists(stored.sha256)
    with media_store.open(stored.sha256) as blob:
        assert blob.read() == PHOTO
    assert 0 <= media_store.age(stored.sha256) < 600
    # The same bytes again: the same blob.
    assert media_store.put_bytes(PHOTO) == stored
    assert list(media_store.root.glob(".incoming-*")) == []


def test_a_pending_file_is_invisible_until_finished_and_gone_when_discarded(media_store):
    pending = media_store.start_put(io.BytesIO(PHOTO))
    assert not media_store.exists(pending.stored.sha256)
    pending.wait_flushed()
    pending.discard()
    assert not media_store.exists(pending.stored.sha256) and list(media_store.root.glob(".incoming-*")) == []
    kept = media_store.start_put(io.BytesIO(PHOTO))
    assert kept.finish() == kept.stored and media_store.exists(kept.stored.sha256)


def test_remove_keeps_recent_blobs_and_deletes_old_ones(media_store):
    stored = media_store.put_bytes(PHOTO)
    assert media_store.remove(stored.sha256) is False and media_store.exists(stored.sha256)
    assert media_store.remove(stored.sha256, keep_newer_than=0) is True
    assert not media_store.exists(stored.sha256) and media_store.age(stored.sha256) is None
    assert media_store.remove(stored.sha256, keep_newer_than=0) is False


def test_a_missing_blob_is_file_not_found_and_a_bad_name_is_refused(media_store):
    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(FileNotFoundError):
        media_store.open(missing)
    assert media_store.exists(missing) is False
    with pytest.raises(ValueError):
        media_store.open("../../etc/passwd")


def test_a_folder_that_cannot_be_written_is_store_unavailable(tmp_path):
    # A file where the folder should be: mkdir fails even for root, whom permissions do not stop.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable):
        FileStore(blocker / "media").put_bytes(PHOTO)


def test_object_storage_out_of_reach_is_store_unavailable(tmp_path, s3_server):
    store = make_store("s3", tmp_path / "spool", s3_server)
    store.bucket = "no-such-bucket"
    with pytest.raises(StoreUnavailable) as caught:
        store.put_bytes(PHOTO)
    assert "NoSuchBucket" in str(caught.value) and list(store.root.glob(".incoming-*")) == []
    with pytest.raises(StoreUnavailable):
        store.open(hashlib.sha256(PHOTO).hexdigest())


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_a_large_file_goes_up_and_comes_back_without_being_held_in_memory(kind, tmp_path, request):
    size = 20 * 1024 * 1024
    server = request.getfixturevalue("s3_server") if kind == "s3" else None
    store = make_store(kind, tmp_path / "media", server)
    store.put_bytes(b"warm up the client and its connection pool")
    tracemalloc.start()
    try:
        stored = store.put_stream(io.BufferedReader(Zeros(size), 1024 * 1024))
        _now, up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read_back, digest = 0, hashlib.sha256()
        with store.open(stored.sha256) as blob:
            while chunk := blob.read(1024 * 1024):
                read_back += len(chunk)
                digest.update(chunk)
        _now, down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == read_back == size and digest.hexdigest() == stored.sha256
    # The file went up in parts read from the spool as they were sent, and came back a megabyte at a time: a few
    # megabytes of buffers at most, whatever the file's size.
    for phase, peak in (("upload", up), ("download", down)):
        assert peak < size / 3, f"{phase} peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    print(f"{kind}: peak {up / 1e6:.1f} MB up, {down / 1e6:.1f} MB down for {size / 1e6:.0f} MB")
