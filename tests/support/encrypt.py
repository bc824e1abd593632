"""Encrypt a filled instance and its media exactly as ODK Collect does for a form with a public key."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from ingest.crypto import CFB, RSA_OAEP, load_public_key, submission_ivs
from ingest.xmlsafe import find_meta, parse

#: The namespace Collect writes on the manifest (the spec's is http://opendatakit.org/submissions).
COLLECT_NAMESPACE = "http://www.opendatakit.org/xforms/encrypted"
OPENROSA_NAMESPACE = "http://openrosa.org/xforms"


@dataclass
class EncryptedSubmission:
    """What Collect uploads for one encrypted instance, plus the secrets a test may want to check."""

    manifest: bytes
    #: `.enc` name -> ciphertext, in encryption order (media first, `submission.xml.enc` last).
    files: dict[str, bytes]
    instance_id: str
    aes_key: bytes

    def send(self, tablet):
        """POST the manifest and the `.enc` files through a tests.support.collect.Collect, as Collect does."""
        return tablet.submit(self.manifest, self.files, instance_file="submission.xml")


def rsa_encrypt(public_key: str, data: bytes) -> str:
    """Encrypt `data` for a base64 public key with Collect's RSA-OAEP and return it base64-encoded."""
    return base64.b64encode(load_public_key(public_key).encrypt(data, RSA_OAEP)).decode("ascii")


def aes_encrypt(aes_key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Encrypt one file as Java's AES/CFB/PKCS5Padding does (PKCS#7 to 16 bytes, then CFB-128)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), CFB(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def manifest_xml(
    form_id: str,
    version: str | None,
    encrypted_key: str,
    instance_id: str,
    media: list[str],
    xml_file: str,
    signature: str,
) -> bytes:
    """Write the manifest as Collect's KXmlSerializer does: no declaration, newlines after meta and each media."""
    attrs = f' id="{escape(form_id, {chr(34): "&quot;"})}"'
    if version is not None:
        attrs += f' version="{escape(version, {chr(34): "&quot;"})}"'
    media_xml = "".join(f"<media><file>{escape(name)}</file></media>\n" for name in media)
    return (
        f'<data xmlns="{COLLECT_NAMESPACE}"{attrs} encrypted="yes">'
        f"<base64EncryptedKey>{encrypted_key}</base64EncryptedKey>"
        f'<orx:meta xmlns:orx="{OPENROSA_NAMESPACE}"><orx:instanceID>{escape(instance_id)}</orx:instanceID>'
        f"</orx:meta>\n{media_xml}"
        f"<encryptedXmlFile>{escape(xml_file)}</encryptedXmlFile>"
        f"<base64EncryptedElementSignature>{signature}</base64EncryptedElementSignature></data>"
    ).encode()


def encrypt_submission(
    public_key: str,
    xml: bytes,
    media: dict[str, bytes] | None = None,
    *,
    form_id: str | None = None,
    version: str | None = None,
    aes_key: bytes | None = None,
) -> EncryptedSubmission:
    """Encrypt an instance and its media for `public_key` (base64 SubjectPublicKeyInfo) as Collect does.

    Collect draws a random AES-256 key, RSA-OAEP-encrypts it (SHA-256, MGF1 SHA-256), encrypts each media
    file and then `submission.xml` with AES/CFB/PKCS5Padding under IVs grown from md5(instanceID + key),
    signs the md5s, and sends the manifest (no XML declaration) as the XML part beside the `.enc` files.

    The form ID, version and instanceID are read from the instance unless given; media are encrypted in
    the order of the dict, which is the order Collect lists them in the manifest.
    """
    root = parse(xml)
    form_id = form_id if form_id is not None else root.get("id")
    version = version if version is not None else root.get("version")
    instance_id = find_meta(root, "instanceID")
    aes_key = aes_key if aes_key is not None else os.urandom(32)
    encrypted_key = rsa_encrypt(public_key, aes_key)
    plain = {**(media or {}), "submission.xml": xml}
    ivs = submission_ivs(instance_id, aes_key, len(plain))
    files = {f"{name}.enc": aes_encrypt(aes_key, iv, body) for (name, body), iv in zip(plain.items(), ivs)}
    # Signed text: form ID, version if any, encrypted key, instanceID, then name::md5 of each plaintext.
    lines = [form_id, *([version] if version is not None else []), encrypted_key, instance_id]
    lines += [f"{name}::{hashlib.md5(body).hexdigest()}" for name, body in plain.items()]
    signature = rsa_encrypt(public_key, hashlib.md5(("\n".join(lines) + "\n").encode("utf-8")).digest())
    manifest = manifest_xml(
        form_id, version, encrypted_key, instance_id, [f"{n}.enc" for n in media or {}], "submission.xml.enc", signature
    )
    return EncryptedSubmission(manifest=manifest, files=files, instance_id=instance_id, aes_key=aes_key)
