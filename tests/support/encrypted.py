"""Shared test helpers (moved from tests/collector/test_encrypted_forms.py)."""

from __future__ import annotations

import io

from tests.support.openrosa import base


def send(client, device, manifest: bytes, files: dict[str, bytes]):
    """POST a sealed submission to the OpenRosa endpoint as Collect does (manifest, then the .enc parts)."""
    data = {"xml_submission_file": (io.BytesIO(manifest), "submission.xml", "text/xml")}
    for name, body in files.items():
        data[name] = (io.BytesIO(body), name, "application/octet-stream")
    return client.post(
        f"{base(device)}/submission?deviceID=collect:abc123",
        data=data,
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0"},
    )
