"""Read the labels of a form version's choices, in one language, from the XForm served to tablets.

The field tree names a question's choice list but holds no labels; the XForm holds them all. pyxform
writes each list as a secondary instance (`<instance id="yes_no">`) whose items name an `itextId` looked
up in the `<itext>` translation of each language, or carry a `<label>` of their own in a form with one
language; older XForms list `<item>`s inside the select itself. A list read from a CSV media file
(`select_one_from_file`) is not in the XForm: its labels come from the file the form version was published
with, from its `label::<Language> (<code>)` column if it has one, else from the column the XForm names
(`label`); without the file its answers keep their names.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Blob, FormAttachment, FormVersion
from ingest.xmlsafe import local_name, parse

#: Languages an export may name (`?lang=`), as the ministry's forms declare them: `label::Lao (lo)`.
LANGUAGES = ("lo", "en")
#: Room for the ministry's largest XForm with its translations.
MAX_XFORM_BYTES = 20 * 1024 * 1024
MAX_XFORM_ELEMENTS = 1_000_000

_INSTANCE = re.compile(r"instance\(\s*['\"]([^'\"]+)['\"]\s*\)")
_ITEXT = re.compile(r"jr:itext\(\s*['\"]?([^'\")]+?)['\"]?\s*\)")
_CODE = re.compile(r"\(([A-Za-z-]+)\)\s*$")
_CSV_SOURCE = re.compile(r"^jr://file-csv/(.+)$")


def _children(element, name: str) -> list:
    return [c for c in element if local_name(c.tag) == name]


def _text(element) -> str:
    return "".join(element.itertext()).strip()


def _translation(root, lang: str) -> dict[str, str]:
    """Return the itext texts of the language whose code is `lang` (`Lao (lo)`, `lo`), else of the default."""
    chosen, default = None, None
    for translation in root.iter():
        if local_name(translation.tag) != "translation":
            continue
        name = translation.get("lang", "")
        code = _CODE.search(name)
        if (code.group(1) if code else name).lower() == lang.lower() or name.lower() == lang.lower():
            chosen = translation
        if default is None or translation.get("default"):
            default = translation
    texts = {}
    for text in (chosen if chosen is not None else default) or ():
        # A text has one plain value, and maybe image or audio forms: the plain one is the label.
        values = [v for v in _children(text, "value") if not v.get("form")]
        if values:
            texts[text.get("id", "")] = _text(values[0])
    return texts


def _label(label, item, texts: dict[str, str]) -> str | None:
    """Return what a `<label>` says for one item: an itext reference, a child of the item, or its own text."""
    if label is None:
        return None
    ref = label.get("ref")
    if ref is None:
        return _text(label)
    found = _ITEXT.search(ref)
    if found:
        text_id = found.group(1)
        if item is not None and not ref.split("(", 1)[1].lstrip().startswith(("'", '"')):
            # jr:itext(itextId): the id is a child of the item.
            child = next(iter(_children(item, text_id)), None)
            text_id = _text(child) if child is not None else ""
        return texts.get(text_id)
    child = next(iter(_children(item, ref)), None) if item is not None else None
    return _text(child) if child is not None else None


def _matches(column: str, lang: str) -> bool:
    """Say whether a choice file's column is the label in `lang` (`label::Lao (lo)`, `label::lo`)."""
    if not column.startswith("label::"):
        return False
    name = column[len("label::") :].strip()
    code = _CODE.search(name)
    return (code.group(1) if code else name).lower() == lang.lower()


def file_labels(stream: BinaryIO, lang: str, value_ref: str = "name", label_ref: str = "label") -> dict[str, str]:
    """Return {name: label} from a CSV choice file (UTF-8, a BOM allowed), read a line at a time; a file
    that is not such a CSV gives no labels (the answers keep their names)."""
    reader = csv.reader(codecs.getreader("utf-8-sig")(stream, "replace"))
    try:
        header = next(reader, [])
        if value_ref not in header:
            return {}
        name_at = header.index(value_ref)
        label_at = next(
            (i for i, c in enumerate(header) if _matches(c, lang)),
            header.index(label_ref) if label_ref in header else None,
        )
        if label_at is None:
            return {}
        return {row[name_at]: row[label_at] for row in reader if len(row) > max(name_at, label_at)}
    except csv.Error:
        return {}


def choice_labels(
    xform: str | bytes, lang: str, open_file: Callable[[str], BinaryIO | None] | None = None
) -> dict[str, dict[str, str]]:
    """Return, for each select question of an XForm, its choices' labels in `lang`: {path: {name: label}}.

    A choice without a label in `lang` keeps the default language's; one without any keeps no entry.
    `open_file(name)` opens a media file of the form version (None if it has none), for lists from files.
    """
    files: dict[tuple[str, str, str], dict[str, str]] = {}
    root = parse(
        xform.encode() if isinstance(xform, str) else xform, max_bytes=MAX_XFORM_BYTES, max_elements=MAX_XFORM_ELEMENTS
    )
    texts = _translation(root, lang)
    instances = {i.get("id"): i for i in root.iter() if local_name(i.tag) == "instance" and i.get("id")}
    out: dict[str, dict[str, str]] = {}
    for control in root.iter():
        ref = control.get("ref")
        if local_name(control.tag) not in ("select1", "select", "rank") or not ref:
            continue
        labels: dict[str, str] = {}
        for item in _children(control, "item"):
            value = next(iter(_children(item, "value")), None)
            label = _label(next(iter(_children(item, "label")), None), None, texts)
            if value is not None and label is not None:
                labels[_text(value)] = label
        for itemset in _children(control, "itemset"):
            source = _INSTANCE.search(itemset.get("nodeset", ""))
            instance = instances.get(source.group(1)) if source else None
            value = next(iter(_children(itemset, "value")), None)
            if instance is None or value is None:
                continue
            value_ref = value.get("ref", "name")
            label = next(iter(_children(itemset, "label")), None)
            external = _CSV_SOURCE.match(instance.get("src", ""))
            if external and open_file is not None:
                wanted = (external.group(1), value_ref, label.get("ref", "label") if label is not None else "label")
                if wanted not in files:
                    files[wanted] = {}
                    stream = open_file(wanted[0])
                    if stream is not None:
                        with stream:
                            files[wanted] = file_labels(stream, lang, wanted[1], wanted[2])
                labels.update(files[wanted])
                continue
            for item in (i for i in instance.iter() if local_name(i.tag) == "item"):
                name = next(iter(_children(item, value_ref)), None)
                text = _label(label, item, texts)
                if name is not None and text is not None:
                    labels[_text(name)] = text
        out[ref] = labels
    return out


#: Choice labels already read, by what they are read from (the XForm's and media files' hashes, the language).
_LABELS: dict[tuple, dict[str, dict[str, str]]] = {}
#: Most entries `_LABELS` keeps (a few forms in two languages).
MAX_CACHED_LABELS = 64


def version_choice_labels(session: Session, store, form_version_id: int | None, lang: str) -> dict[str, dict[str, str]]:
    """Return `choice_labels` of a stored form version in `lang` ({question path: {name: label}}), lists
    from media files read from the version's files in `store` (None: those keep their names).

    Read once per XForm, media files and language (by their hashes: a published version never changes, and
    the same content gives the same labels whichever database it comes from); treat the answer as read-only.
    """
    md5 = session.scalar(select(FormVersion.xml_md5).where(FormVersion.id == form_version_id))
    if md5 is None:
        return {}
    files: dict[str, str] = {
        name: sha256
        for name, sha256 in session.execute(
            select(FormAttachment.name, Blob.sha256)
            .join(Blob, FormAttachment.blob_id == Blob.id)
            .where(FormAttachment.form_version_id == form_version_id)
        )
    }
    key = (md5, lang, tuple(sorted(files.items())), store is not None)
    if key not in _LABELS:
        xml = session.scalar(select(FormVersion.xml).where(FormVersion.id == form_version_id))

        def open_file(name: str) -> BinaryIO | None:
            sha256 = files.get(name)
            if sha256 is None or store is None or not store.exists(sha256):
                return None
            return store.open(sha256)

        if len(_LABELS) >= MAX_CACHED_LABELS:
            _LABELS.pop(next(iter(_LABELS)))
        _LABELS[key] = choice_labels(xml, lang, open_file) if xml else {}
    return _LABELS[key]


def question_label(field: dict, lang: str) -> str:
    """Return a question's label (field tree `label`: {language: text}) in `lang` (`Lao (lo)` or `lo`), else
    the default language's, else any, else its name."""
    labels = field.get("label") or {}
    for name, text in labels.items():
        code = _CODE.search(name)
        if text and (code.group(1) if code else name).lower() == lang.lower():
            return text
    return labels.get("default") or next((t for t in labels.values() if t), None) or field["name"]
