"""Parse untrusted XML: no DTD, no entities, no network, bounded size and depth."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

#: Deepest nesting accepted; real instances are a dozen levels deep at most.
MAX_DEPTH = 64
#: Largest instance document accepted (the XML part only; media are separate parts).
MAX_XML_BYTES = 10 * 1024 * 1024
#: Most elements accepted in one document; the largest real instance (case intake with its repeats) has a few
#: hundred. The cap keeps the work per submission bounded whatever the sender packs into 10 MB.
MAX_ELEMENTS = 20_000

_DECLARED_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
#: Collect and every ODK client write UTF-8; the stored bytes are decoded as UTF-8 everywhere after.
_ACCEPTED_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii"}


class UnsafeXMLError(ValueError):
    """The document is not well-formed, or uses features refused for safety."""


def parse(
    data: bytes, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> Element:
    """Parse `data` and return its root element.

    :raise UnsafeXMLError: on malformed XML, any DOCTYPE or entity declaration, an encoding other than UTF-8,
        or a size, depth or element count over the limits.
    """
    if len(data) > max_bytes:
        raise UnsafeXMLError(f"The form data is larger than {max_bytes // (1024 * 1024)} MB.")
    _check_encoding(data)
    try:
        # forbid_dtd refuses any DOCTYPE, so no entity (internal or external) is ever expanded or fetched.
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UnsafeXMLError("The form data contains a DOCTYPE or entity declaration, which is not allowed.") from None
    except ParseError as exc:
        raise UnsafeXMLError(f"The form data is not well-formed XML ({exc}).") from None
    except (LookupError, ValueError) as exc:
        # expat hands encodings it lacks to Python's codecs, which refuse multi-byte and unknown ones.
        raise UnsafeXMLError(f"The form data could not be decoded ({exc}); send it as UTF-8.") from None
    stack = [(root, 1)]
    count = 0
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > max_depth:
            raise UnsafeXMLError(f"The form data is nested deeper than {max_depth} levels.")
        if count > max_elements:
            raise UnsafeXMLError(f"The form data has more than {max_elements} elements.")
        stack.extend((child, depth + 1) for child in element)
    return root


def _check_encoding(data: bytes) -> None:
    """:raise UnsafeXMLError: a UTF-16 or UTF-32 document, or a declared encoding other than UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise UnsafeXMLError("The form data is not UTF-8 (it starts with a UTF-16 or UTF-32 byte order mark).")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).decode("ascii", "replace").strip().lower() not in _ACCEPTED_ENCODINGS:
        name = declared.group(1).decode("ascii", "replace")[:40]
        raise UnsafeXMLError(f"The form data declares the encoding '{name}'; this server accepts UTF-8 only.")


def local_name(tag: str) -> str:
    """Return a tag without its namespace: Collect writes meta as orx:meta or plain meta."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def find_child(element: Element, name: str) -> Element | None:
    """Return the first child whose local name is `name`."""
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def find_meta(root: Element, name: str) -> str | None:
    """Return meta/<name> text of an instance (instanceID, deprecatedID, instanceName), stripped."""
    meta = find_child(root, "meta")
    node = find_child(meta, name) if meta is not None else None
    text = (node.text or "").strip() if node is not None else ""
    return text or None
