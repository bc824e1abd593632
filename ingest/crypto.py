"""Keys for encrypted forms, and decryption of the submissions ODK Collect encrypts with them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

try:
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # cryptography < 43 kept CFB with the other modes
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from ingest.xmlsafe import UnsafeXMLError, find_child, local_name, parse

logger = logging.getLogger(__name__)

#: RSA modulus size. 2048 bits is what ODK Collect, Central and Briefcase expect (Central refuses any other
#: size when it decrypts) and is rated sound until 2030; 3072 would only cost the tablets time for keys
#: that staff can rotate with each form version.
RSA_KEY_BITS = 2048
#: Shortest passphrase accepted when a key is made; the key guards every victim's record of a form.
MIN_PASSPHRASE_LENGTH = 10
#: Format marker and version of a wrapped private key, so a later format can still read this one.
WRAPPED_FORMAT = "lao-atip-wrapped-rsa-key"
WRAPPED_VERSION = 1


@dataclass(frozen=True)
class Argon2Parameters:
    """Cost of deriving the key-wrapping key from a passphrase with argon2id."""

    #: Passes over memory.
    time_cost: int = 3
    #: Memory in KiB: 64 MiB, the second recommended option of RFC 9106 (t=3, p=4).
    memory_cost: int = 64 * 1024
    parallelism: int = 4


#: Real strength, used unless a caller (a test) asks for less.
DEFAULT_KDF = Argon2Parameters()
#: Upper bounds read back from a stored blob, so a damaged or hostile blob cannot make unlocking hang.
_MAX_KDF = Argon2Parameters(time_cost=64, memory_cost=4 * 1024 * 1024, parallelism=64)

# Collect's RSA/NONE/OAEPWithSHA256AndMGF1Padding on Android (BouncyCastle) uses SHA-256 for MGF1 as well.
RSA_OAEP = OAEP(mgf=MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class EncryptionError(Exception):
    """Base of every error raised here; the message is meant for the staff member who acts on it."""


class WrongPassphrase(EncryptionError):
    """The passphrase does not unlock the stored private key."""


class WrongKey(EncryptionError):
    """The submission was encrypted for another key than the one given."""


class TamperedSubmission(EncryptionError):
    """An encrypted submission is damaged, incomplete or altered; nothing of it was decrypted."""


class InvalidManifest(TamperedSubmission):
    """The submission manifest lacks a part or holds a value that cannot be right."""


@dataclass(frozen=True)
class KeyPair:
    """A new key pair: the public key for the form, the private key only wrapped under a passphrase."""

    #: base64 X.509 SubjectPublicKeyInfo (DER): the XLSForm `public_key` setting, `base64RsaPublicKey`.
    public_key: str
    #: versioned JSON blob (UTF-8) holding the AES-GCM-sealed PKCS#8 private key and the KDF settings.
    wrapped_private_key: bytes = field(repr=False)


@dataclass(frozen=True)
class EncryptedManifest:
    """What the manifest of an encrypted submission says; it holds no form data."""

    form_id: str
    version: str | None
    instance_id: str
    #: base64 RSA-OAEP-encrypted AES key, as written in the manifest (it is part of the signed text).
    encrypted_key: str
    #: encrypted media file names (`photo.jpg.enc`), in the order Collect encrypted them.
    media: tuple[str, ...]
    #: encrypted instance file name, normally `submission.xml.enc`; always encrypted last.
    xml_file: str
    #: base64 RSA-OAEP-encrypted md5 of the signed text.
    signature: str

    @property
    def files(self) -> tuple[str, ...]:
        """Return every encrypted file name in encryption order: media first, the instance last."""
        return (*self.media, self.xml_file)


@dataclass(frozen=True)
class DecryptedSubmission:
    """The plaintext of one encrypted submission, whole and checked against its signature."""

    form_id: str
    version: str | None
    instance_id: str
    xml: bytes = field(repr=False)
    #: plaintext media by original file name (`photo.jpg`), in encryption order.
    media: dict[str, bytes] = field(repr=False)


#: An encrypted part: its bytes, a binary stream, or a callable returning either (read only when needed).
FileSource = bytes | BinaryIO | Callable[[], bytes | BinaryIO]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    # Old Android Base64 wrapped lines at 76 characters; whitespace is never part of the value.
    return base64.b64decode("".join(text.split()), validate=True)


def _passphrase_bytes(passphrase: str) -> bytes:
    # Lao (and other) keyboards may compose the same text differently; NFC makes them derive the same key.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive(passphrase: str, salt: bytes, kdf: Argon2Parameters) -> bytes:
    return hash_secret_raw(
        _passphrase_bytes(passphrase),
        salt,
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_cost,
        parallelism=kdf.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _header_aad(header: dict) -> bytes:
    # Everything but the ciphertext is authenticated, so a blob's public key or settings cannot be swapped.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def public_key_base64(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """Return the base64 SubjectPublicKeyInfo of a key, as an XForm's `base64RsaPublicKey` holds it."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return _b64(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """Read a base64 SubjectPublicKeyInfo RSA public key.

    :raise ValueError: if the text is not such a key.
    """
    try:
        key = serialization.load_der_public_key(_unb64(text))
    except (binascii.Error, ValueError):
        raise ValueError("The public key is not a base64 X.509 SubjectPublicKeyInfo.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("The public key is not an RSA key.")
    return key


def generate_key_pair(passphrase: str, *, kdf: Argon2Parameters = DEFAULT_KDF) -> KeyPair:
    """Make an RSA key pair and wrap its private key under `passphrase` (argon2id, then AES-256-GCM).

    :raise ValueError: if the passphrase is shorter than MIN_PASSPHRASE_LENGTH.
    """
    if len(passphrase.strip()) < MIN_PASSPHRASE_LENGTH:
        raise ValueError(f"The passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters long.")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    public_key = public_key_base64(private_key)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": WRAPPED_FORMAT,
        "version": WRAPPED_VERSION,
        "public_key": public_key,
        "kdf": {
            "name": "argon2id",
            "time_cost": kdf.time_cost,
            "memory_cost": kdf.memory_cost,
            "parallelism": kdf.parallelism,
            "salt": _b64(salt),
        },
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
    }
    plain = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(passphrase, salt, kdf)).encrypt(nonce, plain, _header_aad(header))
    blob = json.dumps({**header, "ciphertext": _b64(sealed)}, sort_keys=True, indent=1).encode("utf-8")
    return KeyPair(public_key=public_key, wrapped_private_key=blob)


def _read_wrapped(wrapped: bytes | str) -> tuple[dict, Argon2Parameters, bytes, bytes, bytes]:
    try:
        blob = json.loads(wrapped)
        header = {key: value for key, value in blob.items() if key != "ciphertext"}
        if blob["format"] != WRAPPED_FORMAT or blob["version"] != WRAPPED_VERSION:
            raise ValueError
        kdf_fields = blob["kdf"]
        if kdf_fields["name"] != "argon2id" or blob["cipher"]["name"] != "aes-256-gcm":
            raise ValueError
        kdf = Argon2Parameters(
            int(kdf_fields["time_cost"]), int(kdf_fields["memory_cost"]), int(kdf_fields["parallelism"])
        )
        salt, nonce = _unb64(kdf_fields["salt"]), _unb64(blob["cipher"]["nonce"])
        sealed = _unb64(blob["ciphertext"])
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        raise ValueError("The stored private key is not a wrapped key this version can read.") from None
    if not (
        1 <= kdf.time_cost <= _MAX_KDF.time_cost
        and 8 * kdf.parallelism <= kdf.memory_cost <= _MAX_KDF.memory_cost
        and 1 <= kdf.parallelism <= _MAX_KDF.parallelism
    ):
        raise ValueError("The stored private key has key-derivation settings out of range.")
    return header, kdf, salt, nonce, sealed


def unwrap_private_key(wrapped: bytes | str, passphrase: str) -> rsa.RSAPrivateKey:
    """Unlock a private key wrapped by generate_key_pair; it stays in memory only.

    :raise WrongPassphrase: if the passphrase does not open it (or the stored blob was altered).
    :raise ValueError: if the blob is not a wrapped key in a format this version reads.
    """
    header, kdf, salt, nonce, sealed = _read_wrapped(wrapped)
    try:
        plain = AESGCM(_derive(passphrase, salt, kdf)).decrypt(nonce, sealed, _header_aad(header))
    except InvalidTag:
        raise WrongPassphrase(
            "The passphrase is wrong: it does not unlock this form's private key. "
            "Check the keyboard layout and try again."
        ) from None
    key = serialization.load_der_private_key(plain, password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or public_key_base64(key) != header.get("public_key"):
        raise ValueError("The stored private key does not match its public key.")
    return key


def parse_manifest(xml_bytes: bytes) -> EncryptedManifest:
    """Read the manifest Collect sends as the XML part of an encrypted submission.

    Names are matched without namespace: Collect writes `http://www.opendatakit.org/xforms/encrypted`
    where the spec says `http://opendatakit.org/submissions`.

    :raise InvalidManifest: if the XML is unsafe or malformed, not marked encrypted, or lacks a part.
    """
    try:
        root = parse(xml_bytes)
    except UnsafeXMLError as exc:
        raise InvalidManifest(f"The encrypted submission's manifest cannot be read: {exc}") from None
    if local_name(root.tag) != "data" or root.get("encrypted") != "yes":
        raise InvalidManifest("The XML part is not the manifest of an encrypted submission.")

    def text(parent, name: str, what: str) -> str:
        node = find_child(parent, name) if parent is not None else None
        value = (node.text or "").strip() if node is not None else ""
        if not value:
            raise InvalidManifest(
                f"The encrypted submission's manifest has no {what} ({name}); "
                f"ask the enumerator to send it again from the tablet."
            )
        return value

    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise InvalidManifest("The encrypted submission's manifest names no form (id).")
    instance_id = text(find_child(root, "meta"), "instanceID", "instance ID")
    media = tuple(text(child, "file", "media file name") for child in root if local_name(child.tag) == "media")
    manifest = EncryptedManifest(
        form_id=form_id,
        version=root.get("version"),
        instance_id=instance_id,
        encrypted_key=text(root, "base64EncryptedKey", "encrypted key"),
        media=media,
        xml_file=text(root, "encryptedXmlFile", "encrypted form data file"),
        signature=text(root, "base64EncryptedElementSignature", "signature"),
    )
    names = manifest.files
    for name in names:
        # The names become attachment names later: refuse paths, and anything Collect would not write.
        if not name.endswith(".enc") or len(name) <= 4 or "/" in name or "\\" in name or name.startswith("."):
            raise InvalidManifest(f"The encrypted submission's manifest lists an invalid file name: {name!r}.")
    if len(set(names)) != len(names):
        raise InvalidManifest("The encrypted submission's manifest lists the same file twice.")
    return manifest


def submission_ivs(instance_id: str, aes_key: bytes, count: int) -> list[bytes]:
    """Return the IVs Collect uses for the first `count` files of a submission, in encryption order."""
    seed = bytearray(hashlib.md5(instance_id.encode("utf-8") + aes_key).digest())
    ivs = []
    for index in range(count):
        # Cumulative: each file's IV builds on the previous one, so the order of files matters.
        seed[index % 16] = (seed[index % 16] + 1) % 256
        ivs.append(bytes(seed))
    return ivs


def signature_text(manifest: EncryptedManifest, plaintexts: Mapping[str, bytes]) -> bytes:
    """Return the text whose md5 Collect signs: manifest values, then `name::md5` per file in encryption order."""
    lines = [manifest.form_id]
    if manifest.version is not None:
        lines.append(manifest.version)
    lines += [manifest.encrypted_key, manifest.instance_id]
    lines += [f"{name[:-4]}::{hashlib.md5(plaintexts[name]).hexdigest()}" for name in manifest.files]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _read_source(name: str, source: FileSource | None) -> bytes:
    if source is None:
        raise TamperedSubmission(
            f"The encrypted submission is incomplete: {name} was not received. "
            "Ask the enumerator to send it again from the tablet."
        )
    if callable(source):
        source = source()
    if hasattr(source, "read"):
        source = source.read()
    return bytes(source)


def _decrypt_file(name: str, data: bytes, aes_key: bytes, iv: bytes) -> bytes:
    # Collect pads with PKCS#7 even though CFB needs none, so every whole file is a non-empty multiple of 16.
    if not data or len(data) % 16:
        raise TamperedSubmission(
            f"The encrypted file {name} is truncated or damaged ({len(data)} bytes); "
            "ask the enumerator to send the submission again."
        )
    decryptor = Cipher(algorithms.AES(aes_key), CFB(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise TamperedSubmission(
            f"The encrypted file {name} is damaged or was altered (bad padding); "
            "ask the enumerator to send the submission again."
        ) from None


def decrypt_submission(
    private_key: rsa.RSAPrivateKey, manifest: EncryptedManifest, files: Mapping[str, FileSource]
) -> DecryptedSubmission:
    """Decrypt every file of a submission and check its signature; return all of it or raise.

    `files` maps the encrypted names in the manifest (`photo.jpg.enc`, `submission.xml.enc`) to their
    contents; other entries are ignored.

    :raise WrongKey: if the submission's AES key was not encrypted for this private key.
    :raise TamperedSubmission: if a file is missing, truncated or altered, or the signature does not match.
    """
    try:
        encrypted_key = _unb64(manifest.encrypted_key)
        encrypted_signature = _unb64(manifest.signature)
    except binascii.Error:
        raise InvalidManifest(
            "The encrypted submission's manifest holds a key or signature that is not base64."
        ) from None
    try:
        aes_key = private_key.decrypt(encrypted_key, RSA_OAEP)
    except ValueError:
        raise WrongKey(
            f"Submission {manifest.instance_id} of form {manifest.form_id} was encrypted with "
            "another key: unlock the key of the form version the tablet used."
        ) from None
    if len(aes_key) != 32:
        raise TamperedSubmission(
            f"Submission {manifest.instance_id} carries an AES key of the wrong size; "
            "it was not made by ODK Collect or was altered."
        )
    names = manifest.files
    ivs = submission_ivs(manifest.instance_id, aes_key, len(names))
    plaintexts = {
        name: _decrypt_file(name, _read_source(name, files.get(name)), aes_key, iv) for name, iv in zip(names, ivs)
    }
    try:
        expected = private_key.decrypt(encrypted_signature, RSA_OAEP)
    except ValueError:
        expected = b""
    actual = hashlib.md5(signature_text(manifest, plaintexts)).digest()
    if not hmac.compare_digest(expected, actual):
        raise TamperedSubmission(
            f"Submission {manifest.instance_id} does not match its signature: a file "
            "was altered, swapped or damaged. The sealed files are kept as received."
        )
    logger.debug(
        "Decrypted submission %s of form %s (%d media files).",
        manifest.instance_id,
        manifest.form_id,
        len(manifest.media),
    )
    return DecryptedSubmission(
        form_id=manifest.form_id,
        version=manifest.version,
        instance_id=manifest.instance_id,
        xml=plaintexts[manifest.xml_file],
        media={name[:-4]: plaintexts[name] for name in manifest.media},
    )
