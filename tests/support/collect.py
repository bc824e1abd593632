"""An ODK Collect emulator: the requests Collect sends, header for header and byte for byte.

Collect (OkHttp) appends ?deviceID=collect:<id> to every URL, sends X-OpenRosa-Version, an RFC 1123 Date
and its user agent, probes /submission with HEAD, then POSTs a multipart body whose parts each carry
Content-Disposition, Content-Type and Content-Length; a split upload adds a `*isIncomplete*` part.
"""

from __future__ import annotations

import uuid
from email.utils import formatdate
from urllib.parse import quote

import requests

USER_AGENT = "org.odk.collect.android/v2024.3.1 Dalvik/2.1.0 (Linux; U; Android 13; SM-T220 Build/TP1A.220624.014)"
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".csv": "text/csv",
}


def multipart(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[str, bytes]:
    """Encode (name, filename, content type, body) parts as OkHttp does; return (boundary, body)."""
    boundary = str(uuid.uuid4())
    out = bytearray()
    for name, filename, content_type, body in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += f"Content-Length: {len(body)}\r\n\r\n".encode()
        out += body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return boundary, bytes(out)


class Collect:
    """One tablet: a server URL from a QR code and a device ID."""

    def __init__(self, server_url: str, device_id: str = "collect:Xa1b2C3d4E5f6G7h"):
        self.server_url = server_url.rstrip("/")
        self.device_id = device_id
        self.http = requests.Session()

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {
            "X-OpenRosa-Version": "1.0",
            "Date": formatdate(usegmt=True),
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "gzip",
            "Connection": "Keep-Alive",
        }
        return {**headers, **(extra or {})}

    def _url(self, url: str) -> str:
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}deviceID={quote(self.device_id, safe='')}"

    def get(self, url: str) -> requests.Response:
        """GET any URL the way Collect does (formList, form, manifest, media)."""
        return self.http.get(self._url(url), headers=self._headers(), timeout=30)

    def form_list(self) -> requests.Response:
        return self.get(f"{self.server_url}/formList")

    def head_submission(self) -> requests.Response:
        return self.http.head(self._url(f"{self.server_url}/submission"), headers=self._headers(), timeout=30)

    def submit(
        self,
        xml: bytes,
        files: dict[str, bytes] | None = None,
        *,
        incomplete: bool = False,
        instance_file: str = "Sample case_2026-11-29_10-15-00.xml",
    ) -> requests.Response:
        """POST one batch of a submission, as Collect's OpenRosa uploader does."""
        parts = [("xml_submission_file", instance_file, "text/xml", xml)]
        for name, body in (files or {}).items():
            suffix = name[name.rfind(".") :].lower() if "." in name else ""
            parts.append((name, name, CONTENT_TYPES.get(suffix, "application/octet-stream"), body))
        if incomplete:
            parts.append(("*isIncomplete*", None, None, b"yes"))
        boundary, body = multipart(parts)
        headers = self._headers({"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return self.http.post(self._url(f"{self.server_url}/submission"), data=body, headers=headers, timeout=60)
