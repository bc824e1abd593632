"""Shared test helpers (moved from tests/collector/test_openrosa.py)."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

JPEG = b"\xff\xd8\xff\xe0" + b"fake jpeg body" * 20


def base(device) -> str:
    return f"/v1/key/{device.token}/projects/1"


def post(client, device, xml: bytes, files: dict | None = None, **kwargs):
    data = {"xml_submission_file": (io.BytesIO(xml), "xml_submission_file.xml", "text/xml")}
    for name, content in (files or {}).items():
        data[name] = (io.BytesIO(content), name, "image/jpeg")
    return client.post(
        f"{base(device)}/submission?deviceID=collect:abc123",
        data=data,
        content_type="multipart/form-data",
        headers={"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2024.3.1"},
        **kwargs,
    )


def count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model))


def openrosa_message(response) -> str:
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    match = re.search(rb"<message nature=\"(\w+)\">(.*?)</message>", response.data, re.S)
    assert match, response.data
    return match.group(2).decode()
