"""Parse a submission's multipart body as it streams in: the instance in memory, media spooled to disk.

python-multipart is a small state machine fed in chunks. Werkzeug's own form parser compiles regular
expressions for every request's boundary, which cost more than the rest of a small submission's parsing.
Parts are bounded in number, the instance in size, and media are written to temporary files past 1 MB,
so a 200 MB video costs no more memory than a photo.
"""

from __future__ import annotations

import tempfile
from typing import BinaryIO

from flask import abort, request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ingest.receiving.submissions import IncomingFile

#: Most parts accepted in one POST; Collect sends at most 100 files per request, plus the instance.
MAX_PARTS = 250
#: Media parts are kept in memory up to this size, then spooled to a temporary file.
_SPOOL_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
XML_PART = "xml_submission_file"


class _Part:
    def __init__(self):
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self.size = 0
        self.sink: BinaryIO | None = None


def parse_submission(stream: BinaryIO, boundary: str, xml_limit: int) -> tuple[bytes | None, list[IncomingFile]]:
    """Read the whole body from `stream`; return the instance XML (or None) and the media parts.

    A body that ends before the request's Content-Length (a connection that closed early, even after a
    complete-looking last part) is refused, since what it held is unknown: gunicorn hands over the stream
    as it is (wsgi.input_terminated), so the count is checked here.

    :raise 400: a malformed body, no boundary, too many parts, or a body that ends before its last part or
        before its announced length.
    :raise 413: an instance part over `xml_limit` bytes.
    """
    if not boundary:
        abort(400, "The multipart body has no boundary.")
    parts: list[_Part] = []
    field: list[bytes] = []
    value: list[bytes] = []
    xml: list[bytes] = []
    state = {"xml_size": 0, "done": False, "read": 0}

    def on_part_begin():
        if len(parts) >= MAX_PARTS:
            abort(400, f"The submission has more than {MAX_PARTS} parts.")
        parts.append(_Part())

    def on_header_field(data, start, end):
        field.append(data[start:end])

    def on_header_value(data, start, end):
        value.append(data[start:end])

    def on_header_end():
        parts[-1].headers[b"".join(field).strip().lower()] = b"".join(value).strip()
        field.clear()
        value.clear()

    def on_headers_finished():
        part = parts[-1]
        _kind, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            part.filename = options[b"filename"].decode("utf-8", "replace")
        content_type = part.headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip()
        part.content_type = content_type[:200] or "application/octet-stream"
        if part.name != XML_PART:
            part.sink = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)

    def on_part_data(data, start, end):
        part = parts[-1]
        if part.sink is not None:
            part.sink.write(data[start:end])
            return
        state["xml_size"] += end - start
        if state["xml_size"] > xml_limit:
            abort(413, f"The form data is larger than {xml_limit // (1024 * 1024)} MB.")
        xml.append(data[start:end])

    def on_end():
        state["done"] = True

    parser = MultipartParser(
        boundary.encode("latin-1", "replace"),
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_end": on_end,
        },
    )
    try:
        while chunk := stream.read(_CHUNK):
            state["read"] += len(chunk)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        _close(parts)
        abort(400, f"The multipart body is malformed ({exc}).")
    except BaseException:
        _close(parts)
        raise
    if not state["done"]:
        _close(parts)
        abort(400, "The submission was cut short: its body ends before the last part.")
    length = request.content_length
    if length is not None and state["read"] < length:
        _close(parts)
        abort(400, f"The submission was cut short: {state['read']} of the {length} bytes announced arrived.")
    files = []
    for part in parts:
        if part.sink is None:
            continue
        part.sink.seek(0)
        files.append(IncomingFile(name=part.filename or part.name, stream=part.sink, content_type=part.content_type))
    has_xml = any(p.name == XML_PART for p in parts)
    return (b"".join(xml) if has_xml else None), files


def _close(parts: list[_Part]) -> None:
    for part in parts:
        if part.sink is not None:
            part.sink.close()
