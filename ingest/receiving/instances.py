"""Read what an instance says about itself: its identity (form, version, instanceID) and the files it names.

Values too long for their columns, or that would make a record unreachable by URL, are refused here,
before anything is stored.
"""

from __future__ import annotations

import re
import uuid

from ingest.errors import BadSubmission
from ingest.xmlsafe import UnsafeXMLError, find_meta, local_name, parse

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:]")
_UNREACHABLE_ID = re.compile(r"[\x00-\x1f\x7f/]")
#: Longest instanceID or file name stored (the columns' size); longer ones are refused, never cut.
MAX_NAME_LENGTH = 255
MAX_FORM_ID_LENGTH = 64


def safe_filename(name: str | None) -> str:
    """Reduce a client-supplied file name to its last component, free of path and control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".")
    return base[:255] or "file"


def _leaf_texts(root) -> list[tuple[str, str]]:
    """Return (path relative to the root, without namespaces; stripped text) of each leaf that has text."""
    out: list[tuple[str, str]] = []
    stack = [(root, "")]
    while stack:
        element, rel = stack.pop()
        for child in element:
            name = local_name(child.tag)
            if not name:
                continue
            child_rel = f"{rel}/{name}" if rel else name
            if len(child):
                stack.append((child, child_rel))
            elif child.text and child.text.strip():
                out.append((child_rel, child.text.strip()))
    return out


def expected_files(root, fields: list[dict], received_names: set[str], unknown_version: bool) -> set[str]:
    """Names of the files an instance refers to through its binary fields.

    :raise BadSubmission: a file name longer than a stored name may be.
    """
    binary_rel = {f["path"].split("/", 2)[2] for f in fields if f.get("binary") and f["path"].count("/") >= 2}
    names: set[str] = set()
    for rel, text in _leaf_texts(root):
        # For a version the server never saw, any leaf naming a file that arrived counts too.
        if rel in binary_rel or (unknown_version and text in received_names):
            if len(text) > MAX_NAME_LENGTH:
                raise BadSubmission(f"A file name in the form data is longer than {MAX_NAME_LENGTH} characters.")
            names.add(text)
    return names


def identity(root, expect_form: str | None) -> tuple[str, str, str, str | None]:
    """Return the form ID, version, instanceID and deprecatedID an instance names.

    :raise BadSubmission: no form ID, another form than `expect_form`, or a value too long to store.
    """
    xml_form_id = (root.get("id") or "").strip()
    if not xml_form_id:
        raise BadSubmission("The form data has no form ID (the id attribute of its root element is missing).")
    if expect_form is not None and xml_form_id != expect_form:
        raise BadSubmission(f"The XML is an instance of '{xml_form_id[:64]}', not of the form '{expect_form}'.")
    version_string = (root.get("version") or "").strip()
    # Central generates an instanceID when a client sends none, rather than refusing the record.
    instance_id = find_meta(root, "instanceID") or f"uuid:{uuid.uuid4()}"
    deprecated_id = find_meta(root, "deprecatedID")
    for what, value, limit in (
        ("form ID", xml_form_id, MAX_FORM_ID_LENGTH),
        ("form version", version_string, 64),
        ("instance ID", instance_id, MAX_NAME_LENGTH),
        ("deprecated ID", deprecated_id or "", MAX_NAME_LENGTH),
    ):
        if len(value) > limit:
            raise BadSubmission(f"The {what} in the form data is longer than {limit} characters.")
    for what, value in (("instance ID", instance_id), ("deprecated ID", deprecated_id or "")):
        # A slash would make the record unreachable at .../submissions/<instanceId> (it splits the path).
        if _UNREACHABLE_ID.search(value):
            raise BadSubmission(f"The {what} in the form data holds a slash or a control character.")
    return xml_form_id, version_string, instance_id, deprecated_id


def edit_target(xml: bytes, expect_form: str) -> str | None:
    """Return the deprecatedID of an instance of `expect_form`: the version an edit replaces (None: not an edit).

    :raise BadSubmission: unsafe or malformed XML, or as `identity`.
    """
    try:
        root = parse(xml)
    except UnsafeXMLError as exc:
        raise BadSubmission(str(exc)) from None
    return identity(root, expect_form)[3]
