"""Reading OData entities: pages of an entity set or one record, `$select`, `$expand`, `$skiptoken`.

Entities are built from the stored rows as Central writes them: nulls for unanswered fields, groups as objects,
repeats as navigation links (inline with `$expand=*`), values typed as `$metadata` says. A repeat row's `__id`
is the SHA-1 of its KEY in the CSV export (`uuid:.../route[2]`), so the two exports can be joined. Every read
is scoped to the session's caller and redacted as the read service (ingest.odata.service) decided for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from urllib.parse import quote

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ingest.exports.pages import attachments_of, rows_of, submitter_names
from ingest.models import Form, FormVersion, Submission, SubmissionRow, SubmissionVersion
from ingest.odata.model import SYSTEM_PROPERTIES, EntitySet, Model, Node, NoSuchEntity, ODataError
from ingest.queries import submissions_of
from ingest.records import answers
from ingest.records.describe import iso
from ingest.redaction import Redaction, redact_rows

#: Most entities one response holds; `$top` above it is cut to it (the page then ends with a nextLink).
MAX_TOP = 10_000


@dataclass
class Options:
    """The query options of one request, checked against the model."""

    entity_set: EntitySet
    top: int = MAX_TOP
    skip: int = 0
    count: bool = False
    expand: bool = False
    wkt: bool = False
    #: properties chosen by $select (None: all), with the ids (`__id`, `__system/...`) asked for.
    select: set | None = None
    ids: set = dc_field(default_factory=set)
    where: object = None
    order: list = dc_field(default_factory=list)
    #: the keyset position ({"id": ..., "row": ...}) or offset ({"skip": n}) a $skiptoken carries.
    token: dict | None = None


def skiptoken(position: dict) -> str:
    """Write a paging position as Central's opaque $skiptoken: "01" and base64 JSON."""
    return "01" + base64.b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def read_skiptoken(text: str) -> dict:
    """:raise ODataError: not a token this server wrote."""
    try:
        if not text.startswith("01"):
            raise ValueError
        position = json.loads(base64.b64decode(text[2:], validate=True))
        if not (
            isinstance(position, dict)
            and position
            and all(k in ("id", "row", "skip") and type(v) is int and v >= 0 for k, v in position.items())
        ):
            raise ValueError
    except ValueError:
        raise ODataError("The $skiptoken is not one this server gave: follow @odata.nextLink as given.") from None
    return position


def read_select(model: Model, entity_set: EntitySet, text: str) -> tuple[set | None, set]:
    """Return the nodes a $select keeps (a group keeps all below it; a question keeps the groups above it)
    and the ids it names (`__id`, `__system`, `__system/<property>`, the parent key).

    :raise ODataError: an unknown property, or one inside a repeat.
    """
    if text.strip() == "*":
        return None, set()
    keep, ids = set(), set()
    system = {f"__system/{name}" for name, _ in SYSTEM_PROPERTIES} | {"__system"}
    for item in (p.strip() for p in text.split(",")):
        if item == "__id" or item == entity_set.parent_key or (entity_set.is_root and item in system):
            ids.add(item)
            continue
        node = model.property(entity_set, item)
        keep.update(node.walk())
        above: Node | None = node
        while above is not None and above is not entity_set.node:
            keep.add(above)
            above = above.parent
    return keep, ids


def _query(form: Form, entity_set: EntitySet, drafts: bool = False):
    """Select the records (or, for a repeat, the rows) an entity set lists, with what `__system` needs.

    Submissions are joined to their root row (outer: a sealed record has none) so that a filter reads its
    answers; a repeat's rows are joined themselves.
    """
    versions = SubmissionVersion.__table__.alias("edits")
    edits = (
        select(func.count(versions.c.id) - 1)
        .where(versions.c.submission_id == Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )
    query = (
        submissions_of(form, drafts=drafts)
        .order_by(None)
        .join(
            SubmissionVersion, (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current.is_(True)
        )
    )
    at_version = SubmissionRow.submission_version_id == SubmissionVersion.id
    if entity_set.is_root:
        query = query.outerjoin(SubmissionRow, at_version & SubmissionRow.parent_id.is_(None))
    else:
        query = query.join(SubmissionRow, at_version & (SubmissionRow.path == entity_set.path))
    return query.with_only_columns(
        Submission.id,
        Submission.instance_id,
        Submission.created_at,
        Submission.updated_at,
        Submission.review_state,
        Submission.user_id,
        Submission.device_id,
        SubmissionVersion.id.label("version_id"),
        SubmissionVersion.form_version_id,
        SubmissionVersion.device_ident,
        SubmissionVersion.version_string,
        (SubmissionVersion.encrypted & SubmissionVersion.plain_xml.is_(None)).label("sealed"),
        edits.label("edits"),
        SubmissionRow.id.label("row_id"),
    )


@dataclass
class Page:
    """One response's entities, the position after them (None on the last page) and the total if counted."""

    entities: list[dict]
    after: dict | None = None
    count: int | None = None


def read_page(session: Session, form: Form, model: Model, options: Options, redaction: Redaction) -> Page:
    """Read one page of an entity set in the session's scope: filtered, sorted, redacted as `redaction` says.

    Without $orderby pages are keyset pages in arrival order (a record sent meanwhile never shifts a page);
    with it, the position is an offset.
    """
    entity_set = options.entity_set
    query = _query(form, entity_set, model.drafts)
    if options.where is not None:
        query = query.where(options.where)
    count = None
    if options.count:
        counted = SubmissionRow.id if not entity_set.is_root else Submission.id
        count = session.scalar(query.with_only_columns(func.count(counted)).order_by(None))
    keys = [Submission.id] if entity_set.is_root else [Submission.id, SubmissionRow.id]
    token = options.token or {}
    offset = options.skip if options.token is None else token.get("skip", 0)
    if "id" in token and not options.order:
        offset = 0
        after = Submission.id > token["id"]
        if not entity_set.is_root:
            after = or_(after, and_(Submission.id == token["id"], SubmissionRow.id > token.get("row", 0)))
        query = query.where(after)
    found = session.execute(query.order_by(*options.order, *keys).offset(offset).limit(options.top + 1)).all()
    page, more = found[: options.top], len(found) > options.top and options.top > 0
    after = None
    if more:
        last = page[-1]
        after = (
            {"skip": offset + options.top}
            if options.order
            else {"id": last.id}
            if entity_set.is_root
            else {"id": last.id, "row": last.row_id}
        )
    return Page(_entities(session, model, options, page, redaction), after, count)


def read_record(
    session: Session,
    form: Form,
    model: Model,
    instance_id: str,
    segments: list[tuple[str, str | None]],
    options: Options,
    redaction: Redaction,
) -> Page:
    """Read one record (`Submissions('<id>')`), or the rows of one of its repeats that a navigation link
    names (`Submissions('<id>')/household('<row id>')/member`), with $top/$skip/$count applied.

    :raise NoSuchEntity: no such record for this caller, or no such repeat.
    """
    record = session.execute(
        _query(form, model.sets["Submissions"], model.drafts).where(Submission.instance_id == instance_id)
    ).first()
    if record is None:
        raise NoSuchEntity("Could not find the resource you were looking for.")
    if not segments:
        return Page(_entities(session, model, options, [record], redaction), count=1 if options.count else None)
    entity_set = options.entity_set
    tree = _trees(session, [record], redaction)[record.version_id]
    within = next((row_id for _name, row_id in reversed(segments) if row_id is not None), None)
    rows = [r for r in tree.rows if r["path"] == entity_set.path and (within is None or within in tree.ancestor_ids(r))]
    chosen = rows[options.skip : options.skip + options.top]
    builder = _Builder(model, options, {})
    return Page(
        [builder.row_entity(entity_set, row, tree) for row in chosen], count=len(rows) if options.count else None
    )


class _Tree:
    """The stored rows of one record version, indexed for building entities: children, KEYs and `__id`s."""

    def __init__(self, instance_id: str, rows: list[dict]):
        self.instance_id, self.rows = instance_id, rows
        self.by_id = {r["id"]: r for r in rows}
        self.children: dict[tuple[int, str], list[dict]] = {}
        for row in rows:
            if row["parent_id"] is not None:
                self.children.setdefault((row["parent_id"], row["path"]), []).append(row)
        self._keys: dict[int, str] = {}

    def root(self) -> dict | None:
        return next((r for r in self.rows if r["parent_id"] is None), None)

    def key(self, row: dict) -> str:
        """Return a row's KEY as the CSV export writes it (`uuid:.../household[1]/member[2]`)."""
        if row["id"] not in self._keys:
            parent = self.by_id.get(row["parent_id"])
            self._keys[row["id"]] = (
                self.instance_id
                if parent is None
                else (f"{self.key(parent)}/{row['path'][len(parent['path']) + 1 :]}[{row['position']}]")
            )
        return self._keys[row["id"]]

    def entity_id(self, row: dict) -> str:
        """Return a row's `__id`: the instance ID for the root, the SHA-1 of its KEY for a repeat row."""
        if row["parent_id"] is None:
            return self.instance_id
        return hashlib.sha1(self.key(row).encode()).hexdigest()

    def ancestor_ids(self, row: dict) -> list[str]:
        ids = []
        while row["parent_id"] is not None:
            row = self.by_id[row["parent_id"]]
            ids.append(self.entity_id(row))
        return ids


def _trees(session: Session, page, redaction: Redaction, roots_only: bool = False) -> dict[int, _Tree]:
    """Return the rows of each record version of a page, redacted as `redaction` says."""
    version_ids = list(dict.fromkeys(r.version_id for r in page))
    rows_by_version = rows_of(session, version_ids, roots_only)
    if redaction.applies():
        form_versions = {r.version_id: r.form_version_id for r in page}
        fields: dict[int, list] = dict(
            session.execute(
                select(FormVersion.id, FormVersion.fields).where(FormVersion.id.in_(set(form_versions.values())))
            ).all()
        )
        for version_id, rows in rows_by_version.items():
            redact_rows(rows, fields.get(form_versions[version_id]) or [])
    instance_ids = {r.version_id: r.instance_id for r in page}
    return {v: _Tree(instance_ids[v], rows) for v, rows in rows_by_version.items()}


def _entities(session: Session, model: Model, options: Options, page, redaction: Redaction) -> list[dict]:
    if not page:
        return []
    entity_set = options.entity_set
    trees = _trees(session, page, redaction, roots_only=entity_set.is_root and not options.expand)
    builder = _Builder(model, options, {})
    if not entity_set.is_root:
        return [builder.row_entity(entity_set, trees[r.version_id].by_id[r.row_id], trees[r.version_id]) for r in page]
    version_ids = [r.version_id for r in page]
    builder.files = attachments_of(session, version_ids)
    builder.names = submitter_names(session, page)
    return [builder.root_entity(r, trees[r.version_id]) for r in page]


class _Builder:
    """Build entities from stored rows: nulls for unanswered fields, groups as objects, repeats as navigation
    links (and inline with $expand=*), values typed as $metadata says."""

    def __init__(self, model: Model, options: Options, files: dict):
        self.model, self.options, self.files = model, options, files
        self.names: dict[tuple[str, int], str] = {}

    def root_entity(self, record, tree: _Tree) -> dict:
        link = f"Submissions('{quote(record.instance_id, safe='')}')"
        entity = {"__id": record.instance_id, **self._frame(self.model.root, tree.root(), tree, link)}
        system = self._system(record)
        ids = self.options.ids
        if self.options.select is None or "__system" in ids:
            entity["__system"] = system
        elif any(i.startswith("__system/") for i in ids):
            entity["__system"] = {k: v for k, v in system.items() if f"__system/{k}" in ids}
        return entity

    def row_entity(self, entity_set: EntitySet, row: dict, tree: _Tree, inline: bool = False) -> dict:
        entity = {"__id": tree.entity_id(row), **self._frame(entity_set.node, row, tree, self._link(row, tree))}
        if not inline and (self.options.select is None or entity_set.parent_key in self.options.ids):
            entity[entity_set.parent_key] = tree.entity_id(tree.by_id[row["parent_id"]])
        return entity

    def _link(self, row: dict, tree: _Tree) -> str:
        """Return the navigation path of a row (`Submissions('<id>')/household('<row id>')`)."""
        if row["parent_id"] is None:
            return f"Submissions('{quote(tree.instance_id, safe='')}')"
        parent = tree.by_id[row["parent_id"]]
        node = self.model.nodes[row["path"]]
        names = self.model.names_of(node)[len(self.model.names_of(self.model.nodes[parent["path"]])) :]
        return "/".join([self._link(parent, tree), *names[:-1], f"{names[-1]}('{tree.entity_id(row)}')"])

    def _frame(self, node: Node, row: dict | None, tree: _Tree, link: str) -> dict:
        data = row["data"] if row is not None else {}
        keep, out = self.options.select, {}
        for child in node.children:
            if keep is not None and child not in keep:
                continue
            if child.kind == "question":
                out[child.name] = value_of(child, data.get(child.key), self.options.wkt)
            elif child.kind == "group":
                out[child.name] = self._frame(child, row, tree, f"{link}/{child.name}")
            else:
                out[f"{child.name}@odata.navigationLink"] = f"{link}/{child.name}"
                if self.options.expand:
                    instances = tree.children.get((row["id"], child.form_field["path"]), []) if row else []
                    entity_set = self.model.sets[self.model.set_name(child)]
                    out[child.name] = [self.row_entity(entity_set, r, tree, inline=True) for r in instances]
        return out

    def _system(self, record) -> dict:
        submitter = ("user", record.user_id) if record.user_id is not None else ("device", record.device_id)
        present, expected = self.files.get(record.version_id, (0, 0))
        return {
            "submissionDate": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
            "deletedAt": None,  # a deleted record is never listed
            "submitterId": str(submitter[1]) if submitter[1] is not None else None,
            "submitterName": self.names.get(submitter) or None,
            "attachmentsPresent": present,
            "attachmentsExpected": expected,
            "status": "notDecrypted" if record.sealed else None,
            "reviewState": record.review_state,
            "deviceId": record.device_ident,
            "edits": record.edits,
            "formVersion": record.version_string,
        }


def value_of(node: Node, value, wkt: bool = False):
    """Return a stored answer as its Edm type wants it: numbers as numbers (a kept text that did not parse is
    null, as Central's), a choice of several as its space-separated names, places as GeoJSON (or WKT)."""
    if value is None:
        return None
    kind = node.form_field.get("xml_type")
    if kind in answers.NUMBERS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value) if kind == "int" and float(value).is_integer() else value
    if kind in ("geopoint", "geotrace", "geoshape") and isinstance(value, str):
        return _geo(kind, value, wkt)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _points(text: str) -> list[tuple[list[float], float | None]]:
    points = []
    for part in text.split(";"):
        try:
            numbers = [float(n) for n in part.split()]
        except ValueError:
            continue
        if len(numbers) >= 2:
            coordinates = [numbers[1], numbers[0]] + numbers[2:3]
            points.append((coordinates, numbers[3] if len(numbers) > 3 else None))
    return points


def _geo(kind: str, text: str, wkt: bool):
    """Write a place as Central does: GeoJSON [longitude, latitude, altitude], accuracy as a property."""
    points = _points(text)
    if not points:
        return None
    if wkt:
        coordinates = ",".join(" ".join(_number(c) for c in p) for p, _ in points)
        return {
            "geopoint": f"POINT ({coordinates})",
            "geotrace": f"LINESTRING ({coordinates})",
            "geoshape": f"POLYGON (({coordinates}))",
        }[kind]
    if kind == "geopoint":
        shape: dict[str, object] = {"type": "Point", "coordinates": points[0][0]}
        if points[0][1] is not None:
            shape["properties"] = {"accuracy": points[0][1]}
        return shape
    line = [p for p, _ in points]
    shape = (
        {"type": "LineString", "coordinates": line}
        if kind == "geotrace"
        else {"type": "Polygon", "coordinates": [line]}
    )
    if any(a is not None for _, a in points):
        shape["properties"] = {"accuracies": [a for _, a in points]}
    return shape


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
