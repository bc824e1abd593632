"""Tables of Entities (issue 19): ODK's way to follow a case over time, shaped like ODK Central's.

A dataset (Central's "entity list") belongs to a project and has named properties; forms write it through their
`entities` sheet (`save_to` columns) and read it back offline as a form attachment `<name>.csv`. An entity is one
row of it, identified by a UUID, with a label, its current properties and a version; every change (from a
submission or the API) adds an entity version, so the history and conflicts can be shown as Central shows them.

Entities are records: each carries the province it belongs to and the consent to share of its case, and
ingest.scope limits every read to the caller's provinces (a device of province 05 downloads only province 05's
entities) exactly as it limits submissions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ingest.db import Base, JSONType, utcnow


class Dataset(Base):
    """An entity list of a project (Central's dataset), created when a form that declares it is published,
    or by the server for its own lists (the case register)."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    #: the name forms use (`cases` for `cases.csv` and `instance('cases')`); a valid XML name.
    name: Mapped[str] = mapped_column(String(64))
    #: Central's approvalRequired: entities are created only once their submission is approved.
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 'form' (written by forms' entities sheets) or 'system' (kept by the server, e.g. from the case register).
    kind: Mapped[str] = mapped_column(String(10), default="form")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    properties: Mapped[list[DatasetProperty]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetProperty.id", lazy="selectin"
    )


class DatasetProperty(Base):
    """A property of a dataset: a column of the entity list (Central's dataset property)."""

    __tablename__ = "dataset_properties"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    #: when a published form (or the API) first wrote the property; None while only drafts declare it.
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Entity(Base):
    """One entity of a dataset: its current label, properties and version."""

    __tablename__ = "entities"
    __table_args__ = (
        UniqueConstraint("dataset_id", "uuid"),
        Index("ix_entities_dataset_province", "dataset_id", "province_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    #: lower-case UUID without the `uuid:` prefix, as Central answers it.
    uuid: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text)
    #: the current properties, name -> string (ODK properties are strings; "" for a blanked one).
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: the current version, 1 at creation, +1 at each update.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: None, 'soft' (an update made from an older version, touching other properties) or 'hard' (it touched a
    #: property changed since that version), as Central flags them; cleared by resolving.
    conflict: Mapped[str | None] = mapped_column(String(4))
    #: the province the entity belongs to (scope), from its creating submission, the API or the case register.
    province_code: Mapped[str | None] = mapped_column(String(2))
    #: the consent to share of the entity's case (None: never asked); refused hides it as the case is hidden.
    consent_sharing: Mapped[bool | None] = mapped_column(Boolean)
    creator_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    creator_device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[EntityVersion]] = relationship(
        back_populates="entity", order_by="EntityVersion.version", cascade="all, delete-orphan"
    )


class EntityVersion(Base):
    """One version of an entity (Central's entity def): what it was after one change, and where that came from."""

    __tablename__ = "entity_versions"
    __table_args__ = (UniqueConstraint("entity_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: the version the change was made from (None at creation); lower than version - 1 means made offline
    #: or concurrently, from which the conflict is judged.
    base_version: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    #: all properties after the change.
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: only what the change itself sent (Central's dataReceived), label included under "label".
    data_received: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: the properties that conflicted with changes made since base_version (hard conflict), else None.
    conflicting_properties: Mapped[list | None] = mapped_column(JSONType)
    conflict: Mapped[str | None] = mapped_column(String(4))
    #: offline branches (ODK spec 2024.1): the entity's version the branch started from, and its id.
    branch_id: Mapped[str | None] = mapped_column(String(64))
    trunk_version: Mapped[int | None] = mapped_column(Integer)
    branch_base_version: Mapped[int | None] = mapped_column(Integer)
    #: the submission that made the change, or None for a change through the API.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    creator_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    creator_device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    entity: Mapped[Entity] = relationship(back_populates="versions")
