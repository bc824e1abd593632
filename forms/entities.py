"""Read the entity declaration of a compiled XForm: which entity list a form writes, and from which fields.

pyxform writes an XLSForm's `entities` sheet (ODK's entities spec, 2022.1 to 2024.1) as a `<meta><entity>`
element of the primary instance, with `dataset` naming the entity list and `create` / `update` saying what a
submission does, and `entities:saveto="<property>"` on the bind of each field whose answer a property takes:

    <meta><entity dataset="cases" create="1" id=""><label/></entity><instanceID/></meta>
    <bind nodeset="/data/age_band" type="string" entities:saveto="age_band"/>

A follow-up form reads the list as `instance('cases')` from the media file `cases.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import ParseError, fromstring

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"
SAVETO = f"{{{ENTITIES_NS}}}saveto"
VERSION = f"{{{ENTITIES_NS}}}entities-version"


@dataclass(frozen=True)
class EntityDeclaration:
    """What a form declares of the entity it writes."""

    #: the entity list (dataset) name.
    dataset: str
    #: the form may create entities (`create` attribute present), update them (`update` present).
    creates: bool
    updates: bool
    #: property -> path of the field below the data root, parts without the root (`("grp", "age_band")`).
    properties: dict[str, tuple[str, ...]]
    #: the spec version the form says it follows (`2024.1.0`), or None.
    spec: str | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _primary_root(model: Element) -> Element | None:
    instance = model.find(f"{XF}instance")
    if instance is None:
        return None
    return next(iter(instance), None)


def _entity_element(root: Element) -> Element | None:
    for meta in root:
        if _local(meta.tag) == "meta":
            for child in meta:
                if _local(child.tag) == "entity":
                    return child
    return None


def declaration(xml: str | bytes) -> EntityDeclaration | None:
    """Return a compiled XForm's entity declaration, or None when it declares none (or is not an XForm)."""
    try:
        html = fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ParseError:
        return None
    head = html.find(f"{H}head")
    model = head.find(f"{XF}model") if head is not None else None
    if model is None:
        return None
    root = _primary_root(model)
    entity = _entity_element(root) if root is not None else None
    if entity is None or not entity.get("dataset"):
        return None
    properties: dict[str, tuple[str, ...]] = {}
    for bind in model.iter(f"{XF}bind"):
        prop = bind.get(SAVETO)
        nodeset = bind.get("nodeset") or ""
        parts = tuple(p for p in nodeset.strip().split("/") if p)
        if prop and len(parts) >= 2:
            properties[prop.strip()] = parts[1:]
    return EntityDeclaration(
        dataset=entity.get("dataset", "").strip(),
        creates="create" in entity.attrib,
        updates="update" in entity.attrib,
        properties=properties,
        spec=model.get(VERSION),
    )
