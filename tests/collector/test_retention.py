"""Retention: closed cases past their form's period lose their identities (rows, raw XML, files); nothing
else changes, a dry run changes nothing, and a second run finds nothing left to do."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ingest.db import utcnow
from ingest.models import AuditEvent, Blob, Submission, SubmissionAttachment, SubmissionRow, SubmissionVersion
from tests.support.openrosa import JPEG
from tests.support.retention import IDENTITY, age, intake_instance
from tests.support.s3 import STORES, age_blobs, stored_blobs

FORM = "/v1/projects/1/forms/case_intake"


def snapshot(db_session, instance_id: str) -> dict:
    """Everything retention may touch of one record: raw XML, rows, files, retained_at."""
    db_session.rollback()
    submission = db_session.scalar(select(Submission).where(Submission.instance_id == instance_id))
    versions = db_session.scalars(
        select(SubmissionVersion).where(SubmissionVersion.submission_id == submission.id).order_by(SubmissionVersion.id)
    ).all()
    ids = [v.id for v in versions]
    rows = db_session.scalars(
        select(SubmissionRow).where(SubmissionRow.submission_version_id.in_(ids)).order_by(SubmissionRow.id)
    ).all()
    files = db_session.scalars(
        select(SubmissionAttachment)
        .where(SubmissionAttachment.submission_version_id.in_(ids))
        .order_by(SubmissionAttachment.id)
    ).all()
    return {
        "xml": [v.xml for v in versions],
        "rows": [r.data for r in rows],
        "files": {(f.submission_version_id, f.name): f.blob_id for f in files},
        "retained_at": submission.retained_at,
    }


def identities_in(snap: dict) -> list[str]:
    """Return the IDENTITY values still found in a snapshot's XML or rows."""
    text_ = b"".join(snap["xml"]).decode() + json.dumps(snap["rows"], ensure_ascii=False)
    return [v for k, v in IDENTITY.items() if k != "document_photo" and v in text_]


def apply(runner, *args):
    result = runner.invoke(["retention", "apply", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_closed_case_past_retention_loses_its_identities_and_keeps_the_rest(
    app, runner, db_session, intake, intake_fields
):
    from ingest.redaction import sensitive_fields

    answered = len(sensitive_fields(intake_fields.fields))  # the instance answers every question once
    intake("uuid:old-closed", days_ago=40)
    before = snapshot(db_session, "uuid:old-closed")
    assert sorted(identities_in(before)) == sorted(v for k, v in IDENTITY.items() if k != "document_photo")
    assert runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"]).exit_code == 0

    output = apply(runner, "--apply")

    assert f"case_intake (30 days): blanked 1 record(s), {answered} field(s), 1 file(s)." in output
    after = snapshot(db_session, "uuid:old-closed")
    assert identities_in(after) == [] and after["retained_at"] is not None
    assert b"passport.jpg" not in after["xml"][0]
    root = after["rows"][0]
    assert root["grp_identity/prs_FirstName"] is None and root["grp_identity/prs_MobilePhone"] is None
    assert (root["grp_status/cas_Status"], root["grp_identity/prs_Gender"], root["grp_case/interview_province"]) == (
        "Closed",
        "Female",
        "01",
    )
    assert (
        b"<cas_Status>Closed</cas_Status>" in after["xml"][0] and b"<prs_Gender>Female</prs_Gender>" in after["xml"][0]
    )
    files = {name: blob for (_v, name), blob in after["files"].items()}
    assert files == {"passport.jpg": None} and before["files"] != after["files"]
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.apply"))
    assert (event.resource, event.address) == ("forms", "cli")
    assert event.details == {"forms": {"case_intake": {"days": 30, "records": 1, "fields": answered, "files": 1}}}


def test_what_the_api_serves_after_retention_holds_no_identity(app, client, runner, db_session, intake, admin):
    intake("uuid:served", days_ago=40)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    apply(runner, "--apply")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()}

    body = client.get(f"{FORM}/submissions/uuid:served", headers=auth)
    xml = client.get(f"{FORM}/submissions/uuid:served.xml", headers=auth)
    photo = client.get(f"{FORM}/submissions/uuid:served/attachments/passport.jpg", headers=auth)

    assert body.status_code == 200 and xml.status_code == 200
    served = body.get_data(as_text=True) + xml.get_data(as_text=True)
    assert not [v for v in IDENTITY.values() if v in served]
    assert body.get_json()["data"]["grp_identity/prs_Gender"] == "Female"
    assert photo.status_code == 404
    photo.close()


def test_recent_and_active_cases_are_untouched(runner, db_session, intake):
    intake("uuid:recent-closed", days_ago=5)
    intake("uuid:old-active", status="Active", days_ago=400)
    intake("uuid:old-referred", status="ClosedReferred", days_ago=31)
    untouched = {i: snapshot(db_session, i) for i in ("uuid:recent-closed", "uuid:old-active")}
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])

    output = apply(runner, "--apply")

    assert "blanked 1 record(s)" in output
    assert {i: snapshot(db_session, i) for i in untouched} == untouched
    assert identities_in(snapshot(db_session, "uuid:old-referred")) == []


def test_a_dry_run_reports_and_changes_nothing(runner, db_session, intake, intake_fields):
    from ingest.redaction import sensitive_fields

    intake("uuid:dry", days_ago=40)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    before = snapshot(db_session, "uuid:dry")

    output = apply(runner)

    answered = len(sensitive_fields(intake_fields.fields))
    assert f"case_intake (30 days): would blank 1 record(s), {answered} field(s), 1 file(s)." in output
    assert "Dry run: nothing was changed" in output
    assert snapshot(db_session, "uuid:dry") == before
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.apply")) is None


PASSPORT_SHA = hashlib.sha256(JPEG + b"passport").hexdigest()


def age_media(app, seconds: float = 2 * 3600) -> None:
    """Make every file of the media store look written `seconds` ago."""
    age_blobs(app.extensions["collector.store"], seconds)


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_the_bytes_of_a_detached_file_leave_the_media_store(app, runner, db_session, intake):
    store = app.extensions["collector.store"]
    intake("uuid:photo-old", days_ago=40)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    others = stored_blobs(store) - {PASSPORT_SHA}
    assert store.exists(PASSPORT_SHA) and others  # the form's media are in the store too
    age_media(app)

    assert store.exists(PASSPORT_SHA)  # a dry run deletes nothing
    assert "Media store" not in apply(runner)
    output = apply(runner, "--apply")

    assert "Media store: deleted 1 file(s) no record refers to any more." in output
    assert not store.exists(PASSPORT_SHA) and not list(Path(app.config["MEDIA_DIR"]).rglob(".removing-*"))
    assert stored_blobs(store) == others  # form media still referred to
    db_session.rollback()
    assert db_session.scalar(select(Blob).where(Blob.sha256 == PASSPORT_SHA)) is None
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "media.purge"))
    assert (event.resource, event.details, event.address) == ("media", {"files": 1}, "cli")
    # Served as missing, not as a server error.
    snap = snapshot(db_session, "uuid:photo-old")
    assert set(snap["files"].values()) == {None}


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_a_file_another_record_still_holds_is_kept(app, runner, db_session, intake):
    intake("uuid:photo-closed", days_ago=40)
    intake("uuid:photo-open", days_ago=40, status="Open")  # the same passport photo bytes
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    age_media(app)

    output = apply(runner, "--apply")

    assert "blanked 1 record(s)" in output and "Media store" not in output
    assert app.extensions["collector.store"].exists(PASSPORT_SHA)
    files = snapshot(db_session, "uuid:photo-open")["files"]
    assert set(files.values()) != {None}


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_a_file_written_in_the_last_hour_waits_for_a_later_run(app, runner, db_session, intake):
    from ingest.cases.retention import purge_files

    store = app.extensions["collector.store"]
    intake("uuid:photo-fresh", days_ago=40)  # its bytes were written just now
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])

    output = apply(runner, "--apply")

    assert "deleted 0 file(s)" in output and "1 written in the last hour kept until a later run" in output
    assert store.exists(PASSPORT_SHA)
    age_media(app)
    db_session.rollback()
    assert purge_files(db_session, store).removed == 1
    assert not store.exists(PASSPORT_SHA)


def test_removing_bytes_keeps_a_copy_written_meanwhile(tmp_path):
    from ingest.storage import FileStore

    store = FileStore(tmp_path)
    stored = store.put_bytes(b"the same photo")
    assert store.remove(stored.sha256) is False  # just written: an upload may be about to use it
    assert store.exists(stored.sha256)
    assert store.remove(stored.sha256, keep_newer_than=0) is True
    assert not store.exists(stored.sha256) and store.remove(stored.sha256) is False
    assert not list(tmp_path.rglob(".removing-*"))


def test_a_second_run_finds_nothing_to_do(runner, db_session, intake):
    intake("uuid:twice", days_ago=40)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    apply(runner, "--apply")
    once = snapshot(db_session, "uuid:twice")

    output = apply(runner, "--apply", "--form", "case_intake")

    assert "blanked 0 record(s), 0 field(s), 0 file(s)" in output
    assert snapshot(db_session, "uuid:twice") == once


def test_an_edit_after_retention_is_blanked_in_its_turn(app, runner, db_session, intake):
    intake("uuid:first", days_ago=100)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    apply(runner, "--apply")
    engine = app.extensions["collector.engine"]
    with engine.begin() as conn:  # as if retention had run 50 days ago
        conn.execute(text("UPDATE submissions SET retained_at = :at"), {"at": utcnow() - timedelta(days=50)})
    # Then the officer edited the closed case, typing the identities in again.
    intake("uuid:edit", days_ago=0, deprecated_id="uuid:first")
    assert "blanked 0 record(s)" in apply(runner, "--apply")
    assert IDENTITY["first_name_latin"] in b"".join(snapshot(db_session, "uuid:first")["xml"]).decode()

    with engine.begin() as conn:  # the edit, closed, has now been closed for 40 days
        conn.execute(
            text("UPDATE submission_versions SET created_at = :at WHERE instance_id = 'uuid:edit'"),
            {"at": utcnow() - timedelta(days=40)},
        )
    output = apply(runner, "--apply")

    assert "blanked 1 record(s)" in output
    assert identities_in(snapshot(db_session, "uuid:first")) == []


def test_a_form_without_a_case_status_field_is_reported(runner, published_form):
    assert runner.invoke(["retention", "set", "--form", "sample_case", "--days", "1"]).exit_code == 0
    output = apply(runner, "--apply")
    assert "sample_case: no field tagged case_status" in output


@pytest.mark.parametrize(
    "args, message",
    [
        (["set", "--form", "sample_case"], "Give either --days N or --off"),
        (["set", "--form", "sample_case", "--days", "3", "--off"], "Give either --days N or --off"),
        (["set", "--form", "nope", "--days", "3"], "No form 'nope' in project 1"),
        (["apply", "--form", "nope"], "No form 'nope' in project 1"),
    ],
)
def test_retention_commands_refuse_bad_arguments(runner, published_form, args, message):
    result = runner.invoke(["retention", *args])
    assert result.exit_code == 1 and message in result.output


def test_retention_off_keeps_cases(runner, db_session, intake):
    intake("uuid:kept", days_ago=400)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    assert runner.invoke(["retention", "set", "--form", "case_intake", "--off"]).exit_code == 0
    assert "No form has a retention period" in apply(runner, "--apply")
    assert snapshot(db_session, "uuid:kept")["retained_at"] is None


# --- encrypted forms ----------------------------------------------------------------------------------------


@pytest.fixture
def sealed_intake(app, client, runner, device, intake, intake_fields, tmp_path):
    """Give case_intake a key; return (send a sealed case, unlock the form)."""
    import re

    from tests.support.encrypt import encrypt_submission
    from tests.support.encrypted import send
    from tests.support.openrosa import base

    app.config.update(KEY_KDF_FAST=True, VALIDATE_FORMS=False)
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text("a passphrase only the tests know\n", encoding="utf-8")
    result = runner.invoke(["keys", "create", "--form", "case_intake", "--passphrase-file", str(passphrase)])
    assert result.exit_code == 0, result.output
    xform = client.get(f"{base(device)}/forms/case_intake.xml").data.decode()
    public_key = re.search(r'base64RsaPublicKey="([^"]+)"', xform).group(1)
    version = re.search(r'<data [^>]*\bversion="([^"]+)"', xform).group(1)

    def send_sealed(instance_id: str, days_ago: int) -> None:
        xml = intake_instance(intake_fields.fields, instance_id, version=version)
        sealed = encrypt_submission(public_key, xml, {"passport.jpg": JPEG + b"passport"})
        response = send(client, device, sealed.manifest, sealed.files)
        assert response.status_code == 201, response.data
        age(app, instance_id, days_ago)

    def unlock() -> None:
        result = runner.invoke(["keys", "unlock", "--form", "case_intake", "--passphrase-file", str(passphrase)])
        assert result.exit_code == 0, result.output

    return send_sealed, unlock


def test_a_sealed_old_record_is_reported_and_left_alone(runner, db_session, sealed_intake):
    send_sealed, _unlock = sealed_intake
    send_sealed("uuid:sealed", days_ago=40)
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    before = snapshot(db_session, "uuid:sealed")

    output = apply(runner, "--apply")

    assert "blanked 0 record(s)" in output and "1 old record(s) still sealed" in output
    assert snapshot(db_session, "uuid:sealed") == before


def test_an_unlocked_record_loses_its_identities_and_its_encrypted_copies(runner, db_session, sealed_intake):
    send_sealed, unlock = sealed_intake
    send_sealed("uuid:unlocked", days_ago=40)
    unlock()
    runner.invoke(["retention", "set", "--form", "case_intake", "--days", "30"])
    manifest = snapshot(db_session, "uuid:unlocked")["xml"]
    version = db_session.scalar(select(SubmissionVersion).where(SubmissionVersion.instance_id == "uuid:unlocked"))
    assert IDENTITY["first_name_latin"].encode() in version.plain_xml

    output = apply(runner, "--apply")

    assert "blanked 1 record(s)" in output and "3 file(s)" in output  # passport.jpg, its .enc, submission.xml.enc
    after = snapshot(db_session, "uuid:unlocked")
    assert after["xml"] == manifest  # the manifest holds no data and stays as received
    assert set(after["files"].values()) == {None}
    version = db_session.scalar(select(SubmissionVersion).where(SubmissionVersion.instance_id == "uuid:unlocked"))
    plain = version.plain_xml.decode()
    assert not [v for k, v in IDENTITY.items() if k != "document_photo" and v in plain]
    assert "<cas_Status>Closed</cas_Status>" in plain and identities_in(after) == []


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_a_file_no_row_names_goes_once_old_and_every_record_keeps_its_own(app, db_session, intake):
    """A record's files are put in place just before the commit that records them: when the database goes away
    at that moment, they stay with no row naming them (tests/system/test_faults.py). The purge removes them
    once older than an hour (a record sent again brings its files again), never a file a row names."""
    from ingest.cases.retention import purge_files

    store = app.extensions["collector.store"]
    intake("uuid:photo-kept", days_ago=1)  # a live record with its photo
    orphan = store.put_bytes(b"the photo of a record whose commit never happened")
    assert orphan.sha256 in set(store.digests())
    assert purge_files(db_session, store).orphans == 0  # just written: an upload may be about to record it
    age_media(app)
    db_session.rollback()

    report = purge_files(db_session, store)

    assert (report.orphans, report.removed) == (1, 1)
    assert not store.exists(orphan.sha256) and store.exists(PASSPORT_SHA)
    assert PASSPORT_SHA in set(store.digests())
    db_session.rollback()
    purges = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "media.purge")).all()
    assert [(e.details["files"], e.details.get("orphans")) for e in purges] == [(1, True)]
