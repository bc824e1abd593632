"""The JSON bodies the entities API takes (collector.api.entities), as Central and pyodk send them; the
OpenAPI document describes the routes with them."""

from __future__ import annotations

from marshmallow import Schema, fields


class DatasetSchema(Schema):
    """A new entity list (Central's POST /datasets, pyodk's `entity_lists.create`)."""

    name = fields.String(required=True)
    approvalRequired = fields.Boolean(load_default=False)


class DatasetPatchSchema(Schema):
    """Changes to an entity list (Central's PATCH /datasets/:name)."""

    approvalRequired = fields.Boolean(required=True)


class PropertySchema(Schema):
    """A new property of an entity list (Central's POST /datasets/:name/properties, pyodk's `add_property`)."""

    name = fields.String(required=True)


class EntitySchema(Schema):
    """One new entity (`uuid` optional: the server makes one); or, with `entities`, many (pyodk's
    `create_many`). `province` (two digits) places it: by default the caller's one province."""

    uuid = fields.String()
    label = fields.String()
    data = fields.Dict()
    province = fields.String()
    entities = fields.List(fields.Dict())
    source = fields.Dict()


class EntityPatchSchema(Schema):
    """A change of an entity (Central's PATCH /entities/:uuid): a new label, properties, or both."""

    label = fields.String()
    data = fields.Dict()
