"""Take an XForm uploaded as XML (as ODK Central does, besides XLSForms): check it and read its field tree.

An XForm carries none of the XLSForm's own columns (`sensitive`, `tags`), so a form uploaded this way keeps
the tags its earlier versions gave the same paths; a field no earlier version knew is marked sensitive when
it can hold free text, a file or a place (fail closed: a role without identity access sees it redacted).
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import ParseError, fromstring
from pyxform.validators.odk_validate import ODKValidateError, check_xform

from forms.compiler import (
    FORM_ID_RE,
    MAX_TITLE_LENGTH,
    MAX_VERSION_LENGTH,
    MAX_XLSFORM_BYTES,
    MEDIA_RE,
    CompiledForm,
    FormError,
    Problem,
)
from forms.fields import build_field_tree
from forms.xpath_check import check_xform as check_expressions

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR = "{http://openrosa.org/javarosa}"

#: XForm bind types read as the XLSForm type pyxform would have written.
_BIND_TYPES = {
    "string": "text",
    "int": "integer",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "dateTime": "dateTime",
    "geopoint": "geopoint",
    "geotrace": "geotrace",
    "geoshape": "geoshape",
    "barcode": "barcode",
    "binary": "file",
}
_UPLOADS = {"image": "photo", "audio": "audio", "video": "video"}
#: Types whose answers can name or locate a person: sensitive unless an earlier version said otherwise.
_SENSITIVE_BY_DEFAULT = {"text", "barcode", "photo", "audio", "video", "file", "geopoint", "geotrace", "geoshape"}
_INSTANCE_RE = re.compile(r"instance\(\s*'([^']+)'\s*\)")
_ITEXT_RE = re.compile(r"jr:itext\(\s*'([^']+)'\s*\)")


def is_xform(data: bytes) -> bool:
    """Say whether an upload looks like XForm XML rather than a spreadsheet."""
    return b"http://www.w3.org/2002/xforms" in data[:4000]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _refused(summary: str, detail: str) -> FormError:
    return FormError(summary, [Problem("error", detail)])


def compile_xform(data: bytes, *, validate: bool = True, earlier_fields: list[dict] | None = None) -> CompiledForm:
    """Check an XForm given as XML and return it as a compiled form (its XML kept as sent, except a missing
    version, which gets a timestamp as an XLSForm without one does).

    :raise FormError: not well-formed, no primary instance or form ID, an expression a tablet would refuse,
        or ODK Validate refuses it.
    """
    if len(data) > MAX_XLSFORM_BYTES:
        raise _refused("The XForm is too large.", f"An XForm may be at most {MAX_XLSFORM_BYTES // 1024} KB.")
    try:
        xml = data.decode("utf-8")
        root = fromstring(data, forbid_dtd=True)
    except (UnicodeDecodeError, ParseError, ValueError) as exc:
        raise _refused("The XForm is not well-formed XML.", str(exc)) from None
    model = root.find(f"{H}head/{XF}model")
    primary = next((i for i in model.findall(f"{XF}instance") if i.get("id") is None), None) if model else None
    data_root = next(iter(primary), None) if primary is not None else None
    if data_root is None:
        raise _refused("This XML is not an XForm.", "It has no h:head/model/instance with the form's data.")
    form_id = data_root.get("id") or ""
    if not FORM_ID_RE.fullmatch(form_id):
        raise _refused("The XForm's form ID is not usable.", f"id {form_id!r} must start with a letter, then _ . -")
    version = data_root.get("version") or ""
    if len(version) > MAX_VERSION_LENGTH:
        raise _refused("The version is too long.", f"version must be at most {MAX_VERSION_LENGTH} characters.")
    if not version:
        version = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        xml = xml.replace(f'id="{form_id}"', f'id="{form_id}" version="{version}"', 1)
    findings = check_expressions(xml)
    if findings:
        raise FormError(
            "Tablets would refuse expressions of the form.",
            [Problem("error", f"{f.attribute} of {f.node}: {f.message}: {f.expression}") for f in findings],
        )
    if validate:
        _validate(xml)
    title = root.findtext(f"{H}head/{H}title") or form_id
    fields = build_field_tree(_survey(root, model, data_root))
    return CompiledForm(
        form_id=form_id,
        version=version,
        title=title[:MAX_TITLE_LENGTH],
        xml=xml,
        fields=_with_tags(fields, earlier_fields or []),
        media=sorted(set(MEDIA_RE.findall(xml))),
    )


def _validate(xml: str) -> None:
    """:raise FormError: ODK Validate refuses the XForm."""
    handle, path = tempfile.mkstemp(suffix=".xml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(xml)
        check_xform(path)
    except ODKValidateError as exc:
        lines = [ln.lstrip("> ") for ln in str(exc).splitlines() if ln.strip() and "ODK Validate Errors" not in ln]
        raise FormError("ODK Validate found errors in the form.", [Problem("error", "\n".join(lines[:12]))]) from None
    finally:
        os.unlink(path)


def _with_tags(fields: list[dict], earlier: list[dict]) -> list[dict]:
    """Give each field the sensitivity and tags of the same path in an earlier version, else fail closed."""
    known = {f["path"]: f for f in earlier}
    for entry in fields:
        before = known.get(entry["path"])
        if before is not None:
            entry["sensitive"], entry["tags"] = before.get("sensitive", False), list(before.get("tags", []))
        elif entry["kind"] == "question" and "/meta/" not in entry["path"]:
            entry["sensitive"] = entry["type"] in _SENSITIVE_BY_DEFAULT
    return fields


def _survey(root: Element, model: Element, data_root: Element) -> dict:
    """Rebuild the part of pyxform's survey JSON that forms.fields reads, from the XForm's instance, binds
    and body controls."""
    binds = {b.get("nodeset"): b for b in model.findall(f"{XF}bind")}
    controls: dict[str, Element] = {}
    body = root.find(f"{H}body")
    for element in body.iter() if body is not None else ():
        ref = element.get("ref") or element.get("nodeset")
        if ref:
            controls.setdefault(ref, element)
    labels = _labels(model)
    # A choice list in a CSV file is named by its file, as pyxform names it.
    lists = {i.get("id") or "": (i.get("src") or "").rsplit("/", 1)[-1] for i in model.findall(f"{XF}instance")}
    lists = {k: v or k for k, v in lists.items()}

    def entry(node: Element, path: str) -> dict:
        name = _local(node.tag)
        control = controls.get(path)
        kind = _local(control.tag) if control is not None else None
        children = _unique_children(node)
        label = _label_of(control, labels)
        if children or kind in ("group", "repeat") or node.get(f"{JR}template") is not None:
            is_repeat = kind == "repeat" or node.get(f"{JR}template") is not None
            return {
                "name": name,
                "type": "repeat" if is_repeat else "group",
                "label": label,
                "children": [entry(c, f"{path}/{_local(c.tag)}") for c in children],
            }
        question = {"name": name, "type": _question_type(binds.get(path), control), "label": label}
        itemset = control.find(f"{XF}itemset") if control is not None else None
        listed = _INSTANCE_RE.match(itemset.get("nodeset") or "") if itemset is not None else None
        if listed:
            question["list_name"] = lists.get(listed.group(1), listed.group(1))
        return question

    return {
        "name": _local(data_root.tag),
        "children": [entry(c, f"/{_local(data_root.tag)}/{_local(c.tag)}") for c in _unique_children(data_root)],
    }


def _unique_children(node: Element) -> list[Element]:
    """Children of an instance node, a repeat's copies (template and instances) counted once."""
    seen: dict[str, Element] = {}
    for child in node:
        seen.setdefault(_local(child.tag), child)
    return list(seen.values())


def _question_type(bind: Element | None, control: Element | None) -> str:
    kind = _local(control.tag) if control is not None else None
    if kind == "select1":
        return "select one"
    if kind == "select":
        return "select all that apply"
    if kind == "upload":
        return _UPLOADS.get((control.get("mediatype") or "").split("/", 1)[0], "file")
    if kind == "trigger":
        return "acknowledge"
    xml_type = (bind.get("type") or "string").rsplit(":", 1)[-1] if bind is not None else "string"
    if kind is None:
        return "calculate"
    if kind == "input" and bind is not None and bind.get("readonly") == "true()" and xml_type == "string":
        return "note"
    return _BIND_TYPES.get(xml_type, "text")


def _labels(model: Element) -> dict[str, dict[str, str]]:
    """Map each itext id to its text by language."""
    out: dict[str, dict[str, str]] = {}
    for translation in model.iterfind(f"{XF}itext/{XF}translation"):
        lang = translation.get("lang") or "default"
        for text in translation.iterfind(f"{XF}text"):
            value = text.find(f"{XF}value")
            if value is not None and text.get("id"):
                out.setdefault(text.get("id") or "", {})[lang] = "".join(value.itertext())
    return out


def _label_of(control: Element | None, labels: dict[str, dict[str, str]]) -> dict[str, str] | str | None:
    label = control.find(f"{XF}label") if control is not None else None
    if label is None:
        return None
    ref = _ITEXT_RE.fullmatch(label.get("ref") or "")
    if ref:
        return labels.get(ref.group(1)) or None
    return "".join(label.itertext()) or None
