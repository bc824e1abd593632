"""Device set-up for ODK Collect: the token URL and the settings QR code it scans."""

from __future__ import annotations

import base64
import json
import os
import zlib
from pathlib import Path

import segno
from flask import url_for

from ingest.models import Device, FormVersion


def device_url(base_url: str, device: Device) -> str:
    """Return the server URL a device enters in Collect: Central's /v1/key/<token>/projects/<id>."""
    return f"{base_url.rstrip('/')}/v1/key/{device.token}/projects/{device.project_id}"


def collect_settings(server_url: str, project_name: str) -> dict:
    """Return the ODK Collect settings a device is configured with."""
    return {
        "general": {
            "server_url": server_url,
            # Tablets fetch exactly the forms they are assigned, and updates to them, on their own.
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "admin": {},
        "project": {"name": project_name, "icon": "ລ", "color": "#1f4e8c"},
    }


def draft_test_url(draft: FormVersion) -> str:
    """Return the server URL a training tablet enters to fill a draft in test mode (below /v1/test/<token>)."""
    return url_for(
        "drafts_test.form_list",
        draft_token=draft.draft_token,
        project_id=draft.form.project_id,
        xml_form_id=draft.form.xml_form_id,
        _external=True,
    ).rsplit("/formList", 1)[0]


def draft_test_settings(draft: FormVersion) -> dict:
    """Return the Collect settings of a draft's test QR code: its test URL, under a project named TEST <form>."""
    return collect_settings(draft_test_url(draft), f"TEST {draft.form.xml_form_id}")


def settings_payload(settings: dict) -> str:
    """Encode settings as Collect's QR payload: JSON, zlib-compressed, base64."""
    raw = json.dumps(settings, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def decode_payload(payload: str) -> dict:
    """Decode a QR payload back into settings (used to check what a code carries)."""
    return json.loads(zlib.decompress(base64.b64decode(payload)).decode("utf-8"))


def qr_code(settings: dict) -> segno.QRCode:
    """Return the QR code of the settings."""
    return segno.make(settings_payload(settings), error="l", micro=False)


def save_qr(settings: dict, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write the QR code as PNG and SVG, readable by their owner only (0600, the folder 0700); return both paths.

    The code holds the device's token, which is as good as its password, whatever the server's umask.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    for path, kind in ((png, "png"), (svg, "svg")):
        write_qr(settings, path, kind)
    return png, svg


def write_qr(settings: dict, path: Path, kind: str) -> None:
    """Write the QR code of the settings to `path` as `kind` (png or svg), readable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older version keeps its mode through O_CREAT
    with os.fdopen(fd, "wb") as out:
        qr_code(settings).save(out, kind=kind, scale=6, border=4)
