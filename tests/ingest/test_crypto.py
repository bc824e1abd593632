"""Key wrapping and decryption of submissions encrypted as ODK Collect encrypts them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization

from ingest.crypto import (
    Argon2Parameters,
    InvalidManifest,
    TamperedSubmission,
    WrongKey,
    WrongPassphrase,
    decrypt_submission,
    generate_key_pair,
    load_public_key,
    parse_manifest,
    submission_ivs,
    unwrap_private_key,
)
from ingest.xmlsafe import find_child, parse
from tests.conftest import make_instance
from tests.support.crypto import FAST_KDF
from tests.support.encrypt import aes_encrypt, encrypt_submission, rsa_encrypt

PASSPHRASE = "ສົມໃຈ correct horse battery"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 40 + b"\xff\xd9"
LAO_NAME = "ນາງ ສົມໃຈ ພົມມະວົງ"


@pytest.fixture(scope="module")
def key_pair():
    """Generate one RSA key pair for the module, wrapped under PASSPHRASE."""
    return generate_key_pair(PASSPHRASE, kdf=FAST_KDF)


@pytest.fixture(scope="module")
def private_key(key_pair):
    return unwrap_private_key(key_pair.wrapped_private_key, PASSPHRASE)


@pytest.fixture(scope="module")
def other_key_pair():
    """Generate a second key pair, as for another form or an older form version."""
    return generate_key_pair(PASSPHRASE, kdf=FAST_KDF)


@pytest.fixture
def sealed(key_pair):
    """Encrypt an instance with a Lao name and a photo for the module's public key."""
    return encrypt_submission(key_pair.public_key, make_instance(name=LAO_NAME), {"photo.jpg": JPEG})


def decrypt(private_key, manifest: bytes, files):
    return decrypt_submission(private_key, parse_manifest(manifest), files)


def test_round_trip_with_photo_gives_back_values_and_photo_bytes(sealed, private_key):
    manifest = parse_manifest(sealed.manifest)
    assert (manifest.form_id, manifest.version, manifest.instance_id) == (
        "sample_case",
        "2026112901",
        sealed.instance_id,
    )
    assert manifest.files == ("photo.jpg.enc", "submission.xml.enc")

    result = decrypt_submission(private_key, manifest, sealed.files)

    assert result.media == {"photo.jpg": JPEG}
    root = parse(result.xml)
    assert find_child(root, "full_name").text == LAO_NAME
    assert find_child(root, "photo").text == "photo.jpg"
    assert result.instance_id == sealed.instance_id
    # The ciphertexts hide the plaintext: not a name, not the photo header.
    assert not any(LAO_NAME.encode() in body or b"JFIF" in body for body in sealed.files.values())


def test_round_trip_reads_streams_and_callables(key_pair, private_key):
    photos = {"a.jpg": JPEG, "b.jpg": JPEG[::-1]}
    sealed = encrypt_submission(key_pair.public_key, make_instance(photo="a.jpg"), photos)
    files = {
        "a.jpg.enc": io.BytesIO(sealed.files["a.jpg.enc"]),
        "b.jpg.enc": lambda: sealed.files["b.jpg.enc"],
        "submission.xml.enc": lambda: io.BytesIO(sealed.files["submission.xml.enc"]),
    }

    assert decrypt(private_key, sealed.manifest, files).media == photos


def test_manifest_is_written_as_collect_writes_it(sealed):
    text = sealed.manifest.decode()
    assert text.startswith(
        '<data xmlns="http://www.opendatakit.org/xforms/encrypted" id="sample_case" '
        'version="2026112901" encrypted="yes"><base64EncryptedKey>'
    )
    assert "<media><file>photo.jpg.enc</file></media>\n<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>" in text
    assert list(sealed.files) == ["photo.jpg.enc", "submission.xml.enc"]


def test_manifest_in_the_spec_namespace_and_order_is_read():
    manifest = parse_manifest(
        b'<data xmlns="http://opendatakit.org/submissions" id="mysurvey" encrypted="yes" version="7">'
        b"<base64EncryptedKey>a2V5</base64EncryptedKey><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        b"<media><file>myimage.jpg.enc</file></media><media><file>myaudio.mp3.enc</file></media>"
        b"<base64EncryptedElementSignature>c2ln</base64EncryptedElementSignature>"
        b'<meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:5b9c</instanceID></meta></data>'
    )
    assert manifest.files == ("myimage.jpg.enc", "myaudio.mp3.enc", "submission.xml.enc")
    assert (manifest.form_id, manifest.version, manifest.instance_id) == ("mysurvey", "7", "uuid:5b9c")


def test_form_without_version_is_signed_without_it(key_pair, private_key):
    xml = re.sub(rb' version="[^"]*"', b"", make_instance(photo=None))
    sealed = encrypt_submission(key_pair.public_key, xml)
    assert b"version=" not in sealed.manifest

    result = decrypt(private_key, sealed.manifest, sealed.files)

    assert (result.version, result.xml, result.media) == (None, xml, {})


def test_key_pair_has_a_2048_bit_spki_public_key_and_no_plain_secret(key_pair, private_key):
    public = load_public_key(key_pair.public_key)
    assert public.key_size == 2048
    der = base64.b64decode(key_pair.public_key)
    assert serialization.load_der_public_key(der).public_numbers() == private_key.public_key().public_numbers()

    blob = json.loads(key_pair.wrapped_private_key)
    assert (blob["format"], blob["version"], blob["kdf"]["name"], blob["cipher"]["name"]) == (
        "lao-atip-wrapped-rsa-key",
        1,
        "argon2id",
        "aes-256-gcm",
    )
    assert len(base64.b64decode(blob["kdf"]["salt"])) == 16
    plain = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key_pair.wrapped_private_key
    assert plain not in raw and base64.b64encode(plain) not in raw and PASSPHRASE.encode() not in raw


def test_default_kdf_is_real_strength():
    assert Argon2Parameters() == Argon2Parameters(time_cost=3, memory_cost=64 * 1024, parallelism=4)


def test_wrong_passphrase_is_refused(key_pair):
    with pytest.raises(WrongPassphrase, match="passphrase is wrong"):
        unwrap_private_key(key_pair.wrapped_private_key, PASSPHRASE + "!")


def test_passphrase_is_compared_after_unicode_normalisation():
    wrapped = generate_key_pair("caf\u00e9 au lait, s'il vous pla\u00eet", kdf=FAST_KDF).wrapped_private_key
    assert unwrap_private_key(wrapped, "cafe\u0301 au lait, s'il vous plai\u0302t").key_size == 2048


def test_short_passphrase_is_refused():
    with pytest.raises(ValueError, match="at least 10"):
        generate_key_pair("short", kdf=FAST_KDF)


def test_wrapped_key_with_a_swapped_public_key_is_refused(key_pair, other_key_pair):
    blob = json.loads(key_pair.wrapped_private_key)
    blob["public_key"] = other_key_pair.public_key
    with pytest.raises(WrongPassphrase):
        unwrap_private_key(json.dumps(blob), PASSPHRASE)


def test_unreadable_wrapped_key_is_a_value_error():
    with pytest.raises(ValueError, match="not a wrapped key"):
        unwrap_private_key(b'{"format": "something else"}', PASSPHRASE)


@pytest.mark.parametrize("cut", [5, 16])
def test_truncated_enc_file_is_tampered(sealed, private_key, cut):
    files = {**sealed.files, "photo.jpg.enc": sealed.files["photo.jpg.enc"][:-cut]}
    with pytest.raises(TamperedSubmission, match="photo.jpg.enc|signature"):
        decrypt(private_key, sealed.manifest, files)


@pytest.mark.parametrize(
    "name, position",
    [("photo.jpg.enc", 100), ("photo.jpg.enc", -1), ("submission.xml.enc", 40), ("submission.xml.enc", -1)],
)
def test_flipped_byte_is_tampered(sealed, private_key, name, position):
    body = bytearray(sealed.files[name])
    body[position] ^= 0x01
    with pytest.raises(TamperedSubmission):
        decrypt(private_key, sealed.manifest, {**sealed.files, name: bytes(body)})


def test_submission_for_another_key_is_wrong_key(other_key_pair, private_key):
    sealed = encrypt_submission(other_key_pair.public_key, make_instance(), {"photo.jpg": JPEG})
    with pytest.raises(WrongKey, match="another key"):
        decrypt(private_key, sealed.manifest, sealed.files)


def test_enc_file_from_another_submission_is_tampered(key_pair, private_key, sealed):
    other = encrypt_submission(key_pair.public_key, make_instance(), {"photo.jpg": JPEG})
    with pytest.raises(TamperedSubmission):
        decrypt(private_key, sealed.manifest, {**sealed.files, "submission.xml.enc": other.files["submission.xml.enc"]})


def test_changed_manifest_version_is_a_signature_mismatch(sealed, private_key):
    manifest = sealed.manifest.replace(b'version="2026112901"', b'version="2026112902"')
    with pytest.raises(TamperedSubmission, match="does not match its signature"):
        decrypt(private_key, manifest, sealed.files)


def test_signature_over_other_content_is_a_mismatch(key_pair, private_key, sealed):
    forged = rsa_encrypt(key_pair.public_key, hashlib.md5(b"something else\n").digest())
    manifest = re.sub(
        rb"<base64EncryptedElementSignature>[^<]+<",
        f"<base64EncryptedElementSignature>{forged}<".encode(),
        sealed.manifest,
    )
    with pytest.raises(TamperedSubmission, match="does not match its signature"):
        decrypt(private_key, manifest, sealed.files)


def test_missing_enc_file_is_reported_by_name(sealed, private_key):
    with pytest.raises(TamperedSubmission, match="photo.jpg.enc was not received"):
        decrypt(private_key, sealed.manifest, {"submission.xml.enc": sealed.files["submission.xml.enc"]})


@pytest.mark.parametrize(
    "pattern, message",
    [
        (rb"<base64EncryptedKey>[^<]*</base64EncryptedKey>", "encrypted key"),
        (rb"<orx:instanceID>[^<]*</orx:instanceID>", "instance ID"),
        (rb"<orx:meta .*</orx:meta>", "instance ID"),
        (rb"<encryptedXmlFile>[^<]*</encryptedXmlFile>", "encrypted form data file"),
        (rb"<base64EncryptedElementSignature>[^<]*</base64EncryptedElementSignature>", "signature"),
        (rb"<file>photo.jpg.enc</file>", "media file name"),
        (rb' id="sample_case"', "names no form"),
        (rb' encrypted="yes"', "not the manifest"),
    ],
)
def test_manifest_missing_a_part_is_invalid(sealed, pattern, message):
    with pytest.raises(InvalidManifest, match=message):
        parse_manifest(re.sub(pattern, b"", sealed.manifest))


@pytest.mark.parametrize("name", ["../photo.jpg.enc", "photo.jpg", ".enc", "submission.xml.enc"])
def test_manifest_with_a_bad_or_repeated_file_name_is_invalid(sealed, name):
    with pytest.raises(InvalidManifest, match="file name|same file twice"):
        parse_manifest(sealed.manifest.replace(b"<file>photo.jpg.enc</file>", f"<file>{name}</file>".encode()))


def test_manifest_with_a_doctype_is_invalid():
    with pytest.raises(InvalidManifest, match="DOCTYPE"):
        parse_manifest(b"<!DOCTYPE data [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><data encrypted='yes'>&e;</data>")


# Known answers computed by Java 17's MessageDigest and Cipher("AES/CFB/PKCS5Padding"), written to mirror
# Collect's EncryptedFormInformation: key bytes 0..31, and an instanceID whose md5 seed starts with 0xff.
KAT_INSTANCE = "uuid:00000000-0000-4000-8000-000000000145"
KAT_KEY = bytes(range(32))
KAT_IVS = {
    0: "009f8cc2bca0744c14af59abe2b50997",
    1: "00a08cc2bca0744c14af59abe2b50997",
    15: "00a08dc3bda1754d15b05aace3b60a98",
    16: "01a08dc3bda1754d15b05aace3b60a98",
    17: "01a18dc3bda1754d15b05aace3b60a98",
}
KAT_CIPHERTEXTS = [
    ("photo bytes \u00ff", "db77a683898214a3f49eb0c4493eb49a"),
    ('<data id="x">\u0ea5\u0eb2\u0ea7</data>', "64620239b0a85b7882b89a99e0c53911f96c6c28bd8710f53a9dd5c9d486e2aa"),
    ("0123456789abcdef", "c87c9cdfbd9651225003e9c0780ae21a5623e9432f4e44c1a4e036601c57a5b8"),
]


def test_iv_rule_matches_known_answers():
    assert hashlib.md5(KAT_INSTANCE.encode() + KAT_KEY).hexdigest() == "ff9f8cc2bca0744c14af59abe2b50997"
    ivs = submission_ivs(KAT_INSTANCE, KAT_KEY, 18)
    # Byte 0 wraps from 0xff to 0x00 before the first file, and is incremented again at file 16.
    assert {i: ivs[i].hex() for i in KAT_IVS} == KAT_IVS


def test_file_encryption_matches_java_aes_cfb_pkcs5():
    ivs = submission_ivs(KAT_INSTANCE, KAT_KEY, len(KAT_CIPHERTEXTS))
    for (plain, expected), iv in zip(KAT_CIPHERTEXTS, ivs):
        assert aes_encrypt(KAT_KEY, iv, plain.encode()).hex() == expected
