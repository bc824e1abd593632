"""Parse untrusted XML: no DTD, no entities, no network, bounded size and depth."""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

#: Deepest nesting accepted; real instances are a dozen levels deep at most.
MAX_DEPTH = 64
#: Largest instance document accepted (the XML part only; media are separate parts).
MAX_XML_BYTES = 10 * 1024 * 1024


class UnsafeXMLError(ValueError):
    """The document is not well-formed, or uses features refused for safety."""


def parse(data: bytes, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH) -> Element:
    """Parse `data` and return its root element.

    :raise UnsafeXMLError: on malformed XML, any DOCTYPE or entity declaration, or a size or depth over the limits.
    """
    if len(data) > max_bytes:
        raise UnsafeXMLError(f"The form data is larger than {max_bytes // (1024 * 1024)} MB.")
    try:
        # forbid_dtd refuses any DOCTYPE, so no entity (internal or external) is ever expanded or fetched.
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UnsafeXMLError("The form data contains a DOCTYPE or entity declaration, which is not allowed.") from None
    except ParseError as exc:
        raise UnsafeXMLError(f"The form data is not well-formed XML ({exc}).") from None
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise UnsafeXMLError(f"The form data is nested deeper than {max_depth} levels.")
        stack.extend((child, depth + 1) for child in element)
    return root


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
