"""Encrypted forms end to end: `collector keys create`, sealed submissions through OpenRosa, `collector keys unlock`.

Tablets are played by tests.support.encrypt, which encrypts exactly as ODK Collect does; the server only ever sees
the manifest and the `.enc` files until an administrator unlocks the form's key.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re

import pytest
from sqlalchemy import func, select

from ingest.crypto import generate_key_pair
from ingest.models import (
    AuditEvent,
    Blob,
    FormKey,
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionRow,
    SubmissionVersion,
)
from tests.conftest import make_instance
from tests.support.crypto import FAST_KDF
from tests.support.encrypt import encrypt_submission
from tests.support.encrypted import send
from tests.support.openrosa import base
from tests.support.s3 import STORES

PASSPHRASE = "ສົມໃຈ correct horse battery"
LAO_NAME = "ນາງ ສົມໃຈ ພົມມະວົງ"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 40 + b"\xff\xd9"
KEYED_VERSION = "2026112902"
LIST = "/v1/projects/1/forms/sample_case/submissions"


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fast_keys(app):
    """Cheap argon2id for keys made in tests; ODK Validate is run by the test of `keys create` itself."""
    app.config.update(KEY_KDF_FAST=True, VALIDATE_FORMS=False)


@pytest.fixture
def public_key(client, runner, device, fast_keys, passphrase_file) -> str:
    """Give the sample form a key and return its public key as tablets download it in the form."""
    result = runner.invoke(["keys", "create", "--form", "sample_case", "--passphrase-file", str(passphrase_file)])
    assert result.exit_code == 0, result.output
    return served_public_key(client, device)


def served_public_key(client, device) -> str:
    xform = client.get(f"{base(device)}/forms/sample_case.xml").data.decode()
    assert f'version="{KEYED_VERSION}"' in xform
    return re.search(r'base64RsaPublicKey="([^"]+)"', xform).group(1)


def seal(public_key: str, instance_id: str, name: str = LAO_NAME, *, province: str = "01", consent: str = "yes"):
    xml = (
        make_instance(instance_id, version=KEYED_VERSION, name=name)
        .replace(b"<province>01</province>", f"<province>{province}</province>".encode())
        .replace(b"<consent>yes</consent>", f"<consent>{consent}</consent>".encode())
    )
    return encrypt_submission(public_key, xml, {"photo.jpg": JPEG})


def scope_columns(db_session) -> dict[str, tuple]:
    """Return instanceID -> (province, consent withheld) of every record."""
    db_session.rollback()
    rows = db_session.execute(select(Submission.instance_id, Submission.province_code, Submission.consent_withheld))
    return {r[0]: (r[1], r[2]) for r in rows}


def stored_files(db_session, instance_id: str) -> dict[str, str]:
    """Return name -> sha256 of the files stored for a submission's version."""
    db_session.rollback()  # a fresh snapshot: the app and the CLI wrote meanwhile
    return dict(
        db_session.execute(
            select(SubmissionAttachment.name, Blob.sha256)
            .join(Blob, Blob.id == SubmissionAttachment.blob_id)
            .join(SubmissionVersion, SubmissionVersion.id == SubmissionAttachment.submission_version_id)
            .where(SubmissionVersion.instance_id == instance_id)
        ).all()
    )


def version_of(db_session, instance_id: str) -> SubmissionVersion:
    db_session.rollback()  # a fresh snapshot: the app and the CLI wrote meanwhile
    return db_session.scalar(select(SubmissionVersion).where(SubmissionVersion.instance_id == instance_id))


def row_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(SubmissionRow))


def unlock(runner, passphrase_file):
    return runner.invoke(["keys", "unlock", "--form", "sample_case", "--passphrase-file", str(passphrase_file)])


def test_keys_create_publishes_a_validated_next_version_with_the_public_key(
    app, client, runner, device, db_session, passphrase_file, caplog
):
    app.config["KEY_KDF_FAST"] = True
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(["keys", "create", "--form", "sample_case", "--passphrase-file", str(passphrase_file)])
    assert result.exit_code == 0, result.output
    assert f"published version {KEYED_VERSION}" in result.output

    key = db_session.scalar(select(FormKey))
    public_key = served_public_key(client, device)
    assert key.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert "".join(key.public_key.splitlines()[1:-1]) == public_key
    # Only the wrapped private key is stored; the passphrase is nowhere.
    assert b"PRIVATE KEY" not in key.sealed_private_key and PASSPHRASE.encode() not in key.sealed_private_key
    version = db_session.scalar(select(FormVersion).where(FormVersion.version == KEYED_VERSION))
    assert version.published_at is not None and version.xlsx is not None
    # The form's media come along, so tablets can still fill it.
    assert [(a.name, a.blob_id is not None) for a in version.attachments] == [("provinces.csv", True)]
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "key.create"))
    assert event.resource == "form:sample_case" and event.details["version"] == KEYED_VERSION
    assert PASSPHRASE not in result.output + caplog.text + str(event.details)


def test_keys_create_asks_for_the_passphrase_twice_without_echoing_it(app, runner, device, db_session):
    app.config.update(KEY_KDF_FAST=True, VALIDATE_FORMS=False)
    mismatch = runner.invoke(
        ["keys", "create", "--form", "sample_case"],
        input=f"{PASSPHRASE}\nsomething else entirely\n{PASSPHRASE}\n{PASSPHRASE}\n",
    )
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output and PASSPHRASE not in mismatch.output
    assert db_session.scalar(select(func.count()).select_from(FormKey)) == 1


def test_short_passphrase_is_refused_and_nothing_is_published(app, runner, device, db_session, tmp_path):
    app.config.update(KEY_KDF_FAST=True, VALIDATE_FORMS=False)
    short = tmp_path / "short.txt"
    short.write_text("too short\n")
    result = runner.invoke(["keys", "create", "--form", "sample_case", "--passphrase-file", str(short)])
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert db_session.scalar(select(func.count()).select_from(FormKey)) == 0
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 1


def test_unknown_form_is_a_clear_error(runner, device, fast_keys, passphrase_file):
    result = runner.invoke(["keys", "create", "--form", "nothing", "--passphrase-file", str(passphrase_file)])
    assert result.exit_code == 1 and "No form 'nothing'" in result.output
    result = unlock(runner, passphrase_file)
    assert result.exit_code == 1 and "has no key" in result.output


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_sealed_submissions_show_only_that_they_exist_until_unlocked(
    client, runner, device, admin, db_session, public_key, passphrase_file, caplog
):
    caplog.set_level(logging.DEBUG)
    first, second = (
        seal(public_key, "uuid:sealed-1"),
        seal(public_key, "uuid:sealed-2", name="Second Person", province="07", consent="no"),
    )
    assert send(client, device, first.manifest, first.files).status_code == 201
    assert send(client, device, second.manifest, second.files).status_code == 201
    # Sealed, the tagged answers cannot be read: the record belongs to the device's province meanwhile.
    assert scope_columns(db_session) == {"uuid:sealed-1": ("01", False), "uuid:sealed-2": ("01", False)}
    # A retry (Collect resends after a lost answer) is the same record, stored once.
    retry = send(client, device, first.manifest, first.files)
    assert retry.status_code == 201 and b"already received" in retry.data
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 2
    sealed_bytes = stored_files(db_session, "uuid:sealed-1")
    assert sorted(sealed_bytes) == ["photo.jpg.enc", "submission.xml.enc"]
    assert sealed_bytes["photo.jpg.enc"] == hashlib.sha256(first.files["photo.jpg.enc"]).hexdigest()

    # Staff see that the records exist (count, dates, device, province) and nothing of their data.
    records = {r["instanceId"]: r for r in client.get(LIST, auth=admin).get_json()}
    assert sorted(records) == ["uuid:sealed-1", "uuid:sealed-2"]
    record = records["uuid:sealed-1"]
    assert record["sealed"] is True and record["data"] == {}
    assert record["deviceId"] == "collect:abc123" and record["createdAt"] and record["province"] == "01"
    assert record["currentVersion"]["formVersion"] == KEYED_VERSION
    assert row_count(db_session) == 0
    one = f"{LIST}/uuid:sealed-1"
    assert client.get(one + ".xml", auth=admin).data == first.manifest
    assert client.get(one + "/attachments/photo.jpg", auth=admin).status_code == 404

    result = unlock(runner, passphrase_file)
    assert result.exit_code == 0, result.output
    assert "decrypted 2, failed 0" in result.output
    # Opened, the record's province and consent come from its data, as for a plain submission: the answer 07
    # is outside the province-01 tablet's, so the record stays in 01 with 07 kept as its claim (issue 16).
    assert scope_columns(db_session) == {"uuid:sealed-1": ("01", False), "uuid:sealed-2": ("01", True)}
    assert (
        db_session.scalar(select(Submission.claimed_province).where(Submission.instance_id == "uuid:sealed-2")) == "07"
    )

    body = client.get(one, auth=admin).get_json()
    assert body["sealed"] is False
    assert body["data"]["full_name"] == LAO_NAME and body["data"]["age"] == 30
    assert body["data"]["route"][1] == {"place": "Bangkok", "days": 10, "place_photo": None}
    assert client.get(f"{LIST}/uuid:sealed-2", auth=admin).get_json()["data"]["full_name"] == "Second Person"
    assert client.get(one + ".xml", auth=admin).data == make_instance(
        "uuid:sealed-1", version=KEYED_VERSION, name=LAO_NAME
    )
    with client.get(one + "/attachments/photo.jpg", auth=admin) as photo:
        assert photo.status_code == 200 and photo.data == JPEG
    # The sealed files stay exactly as received, beside the plain photo.
    after = stored_files(db_session, "uuid:sealed-1")
    assert {name: after[name] for name in sealed_bytes} == sealed_bytes and "photo.jpg" in after
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "key.unlock"))
    assert event.details == {"decrypted": 2, "failed": 0, "via": "cli"}

    # Unlocking again finds nothing left to do.
    again = unlock(runner, passphrase_file)
    assert again.exit_code == 0 and "decrypted 0, failed 0" in again.output
    text = result.output + again.output + caplog.text
    assert PASSPHRASE not in text and LAO_NAME not in text


def test_an_officer_of_several_provinces_sends_sealed_records_placed_at_unlock(
    client, runner, device, admin, db_session, public_key, passphrase_file
):
    from ingest.accounts.users import create_user
    from tests.support.scope import PASSWORD, basic

    create_user(db_session, "officer0105@example.la", PASSWORD, "provincial-officer", provinces=("01", "05"))
    db_session.commit()
    sealed = seal(public_key, "uuid:sealed-officer", province="05")
    data = {
        "xml_submission_file": (io.BytesIO(sealed.manifest), "submission.xml", "text/xml"),
        **{name: (io.BytesIO(body), name, "application/octet-stream") for name, body in sealed.files.items()},
    }

    sent = client.post(
        "/v1/projects/1/submission",
        data=data,
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0", **basic("officer0105@example.la")},
    )

    assert sent.status_code == 201, sent.data
    # Sealed, its province cannot be read: it is in none, so the officer's own province list does not show it.
    assert scope_columns(db_session) == {"uuid:sealed-officer": (None, False)}
    assert client.get(LIST, headers=basic("officer0105@example.la")).get_json() == []
    assert [r["instanceId"] for r in client.get(LIST, auth=admin).get_json()] == ["uuid:sealed-officer"]
    assert unlock(runner, passphrase_file).exit_code == 0
    assert scope_columns(db_session) == {"uuid:sealed-officer": ("05", False)}
    mine = client.get(LIST, headers=basic("officer0105@example.la")).get_json()
    assert [r["instanceId"] for r in mine] == ["uuid:sealed-officer"]


def test_damaged_or_foreign_files_are_reported_and_left_sealed(
    client, runner, device, admin, db_session, public_key, passphrase_file
):
    good = seal(public_key, "uuid:good")
    tampered = seal(public_key, "uuid:tampered")
    flipped = bytearray(tampered.files["photo.jpg.enc"])
    flipped[100] ^= 0x01
    tampered.files["photo.jpg.enc"] = bytes(flipped)
    truncated = seal(public_key, "uuid:truncated")
    truncated.files["submission.xml.enc"] = truncated.files["submission.xml.enc"][:-5]
    other_key = generate_key_pair(PASSPHRASE, kdf=FAST_KDF).public_key
    foreign = encrypt_submission(other_key, make_instance("uuid:foreign", version=KEYED_VERSION), {"photo.jpg": JPEG})
    for sub in (good, tampered, truncated, foreign):
        assert send(client, device, sub.manifest, sub.files).status_code == 201
    bad = ("uuid:tampered", "uuid:truncated", "uuid:foreign")
    before = {instance_id: stored_files(db_session, instance_id) for instance_id in bad}

    result = unlock(runner, passphrase_file)

    assert result.exit_code == 1
    assert "decrypted 1, failed 3" in result.output
    assert re.search(r"uuid:tampered: .*does not match its signature", result.output)
    assert re.search(r"uuid:truncated: .*submission\.xml\.enc is truncated", result.output)
    assert re.search(r"uuid:foreign: .*encrypted with another key", result.output)
    assert version_of(db_session, "uuid:good").plain_xml is not None
    for instance_id in bad:
        # Nothing half-decrypted: no plain XML, no rows, no plain photo, the sealed files untouched.
        version = version_of(db_session, instance_id)
        assert version.encrypted and version.plain_xml is None and version.rows == []
        assert stored_files(db_session, instance_id) == before[instance_id]
        assert client.get(f"{LIST}/{instance_id}", auth=admin).get_json()["sealed"] is True
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "key.unlock"))
    assert event.details == {"decrypted": 1, "failed": 3, "via": "cli"}


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_a_sealed_file_arriving_later_is_decrypted_on_the_next_unlock(
    client, runner, device, db_session, public_key, passphrase_file
):
    sub = seal(public_key, "uuid:late")
    response = send(client, device, sub.manifest, {"submission.xml.enc": sub.files["submission.xml.enc"]})
    assert response.status_code == 201 and b"1 of its 2 file(s) have not arrived" in response.data
    first = unlock(runner, passphrase_file)
    assert first.exit_code == 1 and "photo.jpg.enc was not received" in first.output
    assert version_of(db_session, "uuid:late").plain_xml is None
    assert send(client, device, sub.manifest, sub.files).status_code == 201
    second = unlock(runner, passphrase_file)
    assert second.exit_code == 0 and "decrypted 1, failed 0" in second.output


def test_instance_of_another_form_inside_the_envelope_is_refused(
    client, runner, device, db_session, public_key, passphrase_file
):
    # Signed with the form's public key (anyone may), but the data inside is not what the manifest names.
    sub = encrypt_submission(
        public_key,
        make_instance("uuid:inner", version=KEYED_VERSION, form_id="other_form"),
        {"photo.jpg": JPEG},
        form_id="sample_case",
    )
    assert send(client, device, sub.manifest, sub.files).status_code == 201
    result = unlock(runner, passphrase_file)
    assert result.exit_code == 1 and "uuid:inner: " in result.output and "another form" in result.output
    assert version_of(db_session, "uuid:inner").plain_xml is None and row_count(db_session) == 0


@pytest.mark.parametrize("prompted", [False, True])
def test_wrong_passphrase_changes_nothing(client, runner, device, db_session, public_key, tmp_path, prompted, caplog):
    caplog.set_level(logging.DEBUG)
    sub = seal(public_key, "uuid:locked")
    assert send(client, device, sub.manifest, sub.files).status_code == 201
    before = stored_files(db_session, "uuid:locked")
    wrong = "not the passphrase at all"
    if prompted:
        result = runner.invoke(["keys", "unlock", "--form", "sample_case"], input=wrong + "\n")
    else:
        path = tmp_path / "wrong.txt"
        path.write_text(wrong)
        result = unlock(runner, path)
    assert result.exit_code == 1
    assert "The passphrase is wrong" in result.output and "Nothing was decrypted" in result.output
    assert wrong not in result.output + caplog.text
    version = version_of(db_session, "uuid:locked")
    assert version.plain_xml is None and row_count(db_session) == 0
    assert stored_files(db_session, "uuid:locked") == before
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "key.unlock"))
    assert event.details == {"refused": "wrong passphrase", "via": "cli"}


@pytest.mark.parametrize(
    "manifest, reason",
    [
        (
            b'<data id="sample_case" encrypted="yes"><meta><instanceID>uuid:x</instanceID></meta></data>',
            b"no encrypted key",
        ),
        (
            b'<data id="sample_case" encrypted="yes"><base64EncryptedKey>AA==</base64EncryptedKey>'
            b"<meta><instanceID>uuid:x</instanceID></meta><media><file>../../etc/passwd.enc</file></media>"
            b"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
            b"<base64EncryptedElementSignature>AA==</base64EncryptedElementSignature></data>",
            b"invalid file name",
        ),
    ],
)
def test_broken_manifest_is_refused_with_400(client, device, db_session, public_key, manifest, reason):
    response = send(client, device, manifest, {})
    assert response.status_code == 400 and reason in response.data
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 0


def test_next_version_is_greater_and_unused():
    from ingest.encryption.keys import next_version

    assert next_version("2026112901", set()) == "2026112902"
    assert next_version("0099", {"0100", "0101"}) == "0102"
    assert next_version("v1", set()) > "v1"


def test_public_key_goes_into_an_xlsform_even_without_a_settings_sheet():
    from openpyxl import load_workbook

    from forms.compiler import compile_xlsform
    from ingest.encryption.keys import with_public_key
    from tests.conftest import DATA

    workbook = load_workbook(DATA / "sample_case.xlsx")
    del workbook["settings"]
    bare = io.BytesIO()
    workbook.save(bare)
    public_key = generate_key_pair(PASSPHRASE, kdf=FAST_KDF).public_key

    compiled = compile_xlsform(with_public_key(bare.getvalue(), "sample_case", "7", public_key), validate=False)

    assert (compiled.form_id, compiled.version) == ("sample_case", "7")
    assert f'base64RsaPublicKey="{public_key}"' in compiled.xml
