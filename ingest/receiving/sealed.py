"""Recognise an encrypted submission on receipt: its manifest and the `.enc` files it lists, stored as sent.

A tablet encrypts every submission of a form whose XLSForm has a `public_key` (see ingest.crypto and
PROTOCOL.md). The server stores what it receives untouched: the manifest as the version's XML and the
`.enc` files as attachments; nothing of the data can be read, so no rows are derived until the form's key
is unlocked (ingest.encryption.keys).
"""

from __future__ import annotations

import logging

from ingest.crypto import InvalidManifest, parse_manifest
from ingest.errors import BadSubmission
from ingest.receiving.instances import MAX_NAME_LENGTH, safe_filename
from ingest.xmlsafe import local_name

logger = logging.getLogger(__name__)


def is_sealed(root) -> bool:
    """Say whether a received XML part is the manifest of an encrypted submission (not form data)."""
    return local_name(root.tag) == "data" and root.get("encrypted") == "yes"


def sealed_files(xml: bytes) -> set[str]:
    """Return the `.enc` file names an encrypted submission's manifest lists: the files to expect.

    :raise BadSubmission: the manifest lacks a part, or names a file that could not be stored under its name.
    """
    try:
        manifest = parse_manifest(xml)
    except InvalidManifest as exc:
        raise BadSubmission(str(exc)) from None
    for name in manifest.files:
        if len(name) > MAX_NAME_LENGTH or safe_filename(name) != name:
            raise BadSubmission("The encrypted submission's manifest lists a file name this server cannot store.")
    return set(manifest.files)
