"""Who sends a record: the provinces a sender may place it in, and who may edit it."""

from __future__ import annotations

from ingest.access import Caller
from ingest.errors import (
    Forbidden,
)
from ingest.models import (
    Device,
)


def senders_of(editor: Caller, device: Device | None) -> frozenset[str] | None:
    """Return the provinces a sender may send records for (None: any, a national user or the server).

    A device sends for its province whoever hands the request over (a test or the CLI may name no editor).
    """
    if device is not None:
        return frozenset({device.province_code}) if device.province_code else None
    return None if editor.is_system else editor.provinces


def check_editor(editor: Caller, old) -> None:
    """Let a device edit only what it sent, and a user only records in their scope.

    :raise Forbidden: anyone else.
    """
    if editor.is_system:
        return
    if editor.device_id is not None:
        if old.device_id != editor.device_id:
            raise Forbidden("This record was sent by another device; only that device may send edits of it.")
        return
    in_scope = (
        editor.may("submit")
        and not old.draft
        and (editor.provinces is None or old.province_code in editor.provinces)
        and (not old.consent_withheld or editor.may("withheld"))
    )
    if not in_scope:
        raise Forbidden("You may not edit this record.")
