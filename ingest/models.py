"""SQLAlchemy models of the central database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ingest.db import Base, JSONType, utcnow


class Project(Base):
    """A set of forms, devices and data (Central's project)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A web user: trainer or ministry staff, who signs in with email and password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: argon2id hash; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(200))
    #: one of ingest.access.ROLES: admin, trainer, case-officer, provincial-officer, analyst, statistician.
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    #: the provinces a provincial officer (or a provincial trainer) works in; empty for national roles.
    province_rows: Mapped[list[UserProvince]] = relationship(
        cascade="all, delete-orphan", order_by="UserProvince.province_code", lazy="selectin"
    )

    @property
    def provinces(self) -> list[str]:
        """The two-digit codes of the user's provinces, in order."""
        return [p.province_code for p in self.province_rows]


class UserProvince(Base):
    """One province a user's rights are limited to."""

    __tablename__ = "user_provinces"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)


class Device(Base):
    """An app user: one tablet or officer, who may submit but never read data back."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    province_code: Mapped[str | None] = mapped_column(String(2))
    #: "device" (a tablet with ODK Collect) or "desk" (a desk link: a shelter's or office's browser fills the
    #: forms with ODK Web Forms at /desk/<token>/); both submit through the same write path, in their province.
    kind: Mapped[str] = mapped_column(String(10), default="device", server_default="device")
    #: Kept readable, as Central does, so a trainer can show the QR code again; it only grants
    #: listing forms and submitting, never reading data.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    #: the forms this device may list and fill; a device sees nothing it is not assigned.
    forms: Mapped[list[Form]] = relationship(secondary="device_forms", order_by="Form.xml_form_id")


class DeviceForm(Base):
    """Assignment of a form to a device (Central's app-user form access)."""

    __tablename__ = "device_forms"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), primary_key=True)


class Form(Base):
    """A form known by its form ID within a project; its content lives in versions."""

    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("project_id", "xml_form_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    xml_form_id: Mapped[str] = mapped_column(String(64))
    #: open (listed, accepting), closing (not listed, accepting), closed (not listed, refusing).
    state: Mapped[str] = mapped_column(String(10), default="open")
    #: days after a case is closed before `collector retention apply` blanks its sensitive fields (None: kept).
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[FormVersion]] = relationship(back_populates="form", order_by="FormVersion.id")


class FormVersion(Base):
    """One compiled version of a form; a draft until published_at is set."""

    __tablename__ = "form_versions"
    # A version string is published at most once per form; a draft may reuse one (publishing it is refused).
    __table_args__ = (
        Index(
            "uq_form_versions_published",
            "form_id",
            "version",
            unique=True,
            sqlite_where=text("published_at IS NOT NULL"),
            postgresql_where=text("published_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    #: the XForm exactly as served to tablets.
    xml: Mapped[str] = mapped_column(Text)
    xml_md5: Mapped[str] = mapped_column(String(32))
    #: the XLSForm the trainer uploaded, for download and audit.
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: field tree from forms.fields.build_field_tree (paths, types, repeats, sensitivity).
    fields: Mapped[list] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: secret of the draft's test URL (/v1/test/<token>/...); cleared on publish.
    draft_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: pyxform warnings at upload, shown to the trainer ([{level, message, sheet, row}]).
    warnings: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")

    form: Mapped[Form] = relationship(back_populates="versions")
    attachments: Mapped[list[FormAttachment]] = relationship(
        back_populates="form_version", order_by="FormAttachment.name", cascade="all, delete-orphan"
    )


class Blob(Base):
    """A stored file's identity; its bytes live in the media store under its sha256."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FormAttachment(Base):
    """A media file a form version references (CSV list, image); blob is NULL while missing."""

    __tablename__ = "form_attachments"
    __table_args__ = (UniqueConstraint("form_version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))

    form_version: Mapped[FormVersion] = relationship(back_populates="attachments")
    blob: Mapped[Blob | None] = relationship()


class Submission(Base):
    """A logical submission: one case record, whose edits are its versions."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("form_id", "instance_id"),
        # The console's table reads a form's records newest first, a keyset page at a time.
        Index("ix_submissions_form_created", "form_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    #: instanceID of the first version (Central's submission id).
    instance_id: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_state: Mapped[str | None] = mapped_column(String(20))
    #: the answer tagged case_code: which case of the register (ingest.cases.register) this record belongs to.
    case_code: Mapped[str | None] = mapped_column(String(64), index=True)
    #: province the record belongs to (field tagged scope_province when the sender works there, else the
    #: sender's own province: ingest.tags.place_record): the scope of reads.
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    #: the province the record's answer named when it was outside its sender's provinces (the record is in
    #: the sender's province instead, flagged for a supervisor); None for every other record.
    claimed_province: Mapped[str | None] = mapped_column(String(2), index=True)
    #: its case code names a case of other provinces (ingest.case_provinces): the record stays in its own
    #: province, flagged for a supervisor, and changes nothing of that case.
    foreign_case: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    #: the field tagged consent_sharing answered no: only the province's officers and administrators see it.
    consent_withheld: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: when `collector retention apply` blanked its sensitive fields.
    retained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: test data sent to a draft; never shown with real data, deleted when the draft is published or replaced.
    draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.id"
    )


class SubmissionVersion(Base):
    """One received instance document, stored raw exactly as the tablet sent it."""

    __tablename__ = "submission_versions"
    # The database, not a read-then-write check, keeps concurrent duplicates out.
    __table_args__ = (UniqueConstraint("form_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    instance_id: Mapped[str] = mapped_column(String(255))
    #: the published version it was normalised against (nearest known one when unknown_version).
    form_version_id: Mapped[int | None] = mapped_column(ForeignKey("form_versions.id"))
    #: the version attribute the tablet wrote in the instance.
    version_string: Mapped[str] = mapped_column(String(64), default="")
    unknown_version: Mapped[bool] = mapped_column(Boolean, default=False)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the provinces its sender could send for when it arrived (space-separated codes; `*` national; None:
    #: stored before this was kept): replay places the record from it, as the write path did.
    sender_provinces: Mapped[str | None] = mapped_column(String(64))
    #: as received: the instance, or for an encrypted form the envelope naming submission.xml.enc.
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    #: sent encrypted (the form has a public key); its data is readable once `collector keys unlock` ran.
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the decrypted instance of an encrypted version (NULL while sealed, and for plain versions).
    plain_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Collect's ?deviceID= and User-Agent, for tracing a tablet.
    device_ident: Mapped[str | None] = mapped_column(String(255))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    form_version: Mapped[FormVersion | None] = relationship()
    attachments: Mapped[list[SubmissionAttachment]] = relationship(
        back_populates="submission_version", order_by="SubmissionAttachment.name"
    )
    rows: Mapped[list[SubmissionRow]] = relationship(order_by="SubmissionRow.id", cascade="all, delete-orphan")


class SubmissionAttachment(Base):
    """A file the instance names (expected) and, once received, its blob."""

    __tablename__ = "submission_attachments"
    __table_args__ = (UniqueConstraint("submission_version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    name: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    submission_version: Mapped[SubmissionVersion] = relationship(back_populates="attachments")
    blob: Mapped[Blob | None] = relationship()


class SubmissionRow(Base):
    """A normalised row: the instance root, or one repeat instance, with typed values by field path."""

    __tablename__ = "submission_rows"
    __table_args__ = (Index("ix_submission_rows_version_path", "submission_version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id", ondelete="CASCADE"))
    #: path of the repeat this row stands for ("/data" for the root row).
    path: Mapped[str] = mapped_column(String(500))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("submission_rows.id", ondelete="CASCADE"), index=True)
    #: 1-based position among its siblings of the same repeat.
    position: Mapped[int] = mapped_column(Integer, default=1)
    #: values keyed by field path relative to the row (e.g. "place" or "group/question").
    data: Mapped[dict] = mapped_column(JSONType)


class AuditEvent(Base):
    """One recorded access or change: who read or did what, never the data itself."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    #: e.g. submission.read, submission.list, attachment.read, form.publish, device.create.
    action: Mapped[str] = mapped_column(String(50))
    #: what was touched, e.g. "form:case_intake" or "submission:uuid:..." (identifiers, not content).
    resource: Mapped[str] = mapped_column(String(500))
    #: the caller's network address (after the trusted proxy), or "cli".
    address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)


class FormKey(Base):
    """An RSA key pair of an encrypted form; the private key only sealed under an administrator's passphrase."""

    __tablename__ = "form_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    #: PEM (SubjectPublicKeyInfo); its base64 body goes into the XLSForm's public_key setting.
    public_key: Mapped[str] = mapped_column(Text)
    #: the private key encrypted under the passphrase (see ingest.crypto); never stored in the clear.
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SubmissionComment(Base):
    """A staff comment on a record (Central's submission comments); its text is record data, scoped as the record."""

    __tablename__ = "submission_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Case(Base):
    """One case of the register: what the ministry forms' records of one case code say, in typed columns.

    Rebuilt from the records (ingest.cases.register.rebuild_case) whenever one of them is stored, edited, deleted or
    replayed; statistics read this table and never parse XML. Found by the forms' tags, never field names.
    """

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("project_id", "case_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    case_code: Mapped[str] = mapped_column(String(64))
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    district_code: Mapped[str | None] = mapped_column(String(4))
    first_screening_date: Mapped[date | None] = mapped_column(Date, index=True)
    intake_date: Mapped[date | None] = mapped_column(Date)
    last_followup_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(40), index=True)
    #: CTDC age band as the forms calculate it.
    age_band: Mapped[str | None] = mapped_column(String(20))
    #: ISO 3166 alpha-2 codes, space-separated (`XX` replaced by the follow-up answer).
    citizenship: Mapped[str | None] = mapped_column(String(100))
    #: HTCDS value names, space-separated.
    exploitation_types: Mapped[str | None] = mapped_column(String(500))
    country_of_exploitation: Mapped[str | None] = mapped_column(String(2))
    trafficking_status: Mapped[str | None] = mapped_column(String(40))
    case_status: Mapped[str | None] = mapped_column(String(40))
    #: the latest answer tagged consent_sharing (None: never asked).
    consent_sharing: Mapped[bool | None] = mapped_column(Boolean)
    #: how many live records make up the case, and of which forms ("screening case_intake ...", in order).
    records: Mapped[int] = mapped_column(Integer, default=0)
    forms: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Models of sign-in, person matching, case hand-off and entities live in their own modules; importing them here
# registers them, and the sign-in ones are named here too, where the rest of the code has always found them.
from ingest import entity_models, person_models, task_models  # noqa: E402,F401
from ingest.session_models import ApiToken, SignInLimit, UserSession  # noqa: E402,F401


class CacheGeneration(Base):
    """One row: a number that changes with every change of the tables behind the per-process caches (devices,
    forms, versions, assignments, projects), bumped by database triggers (ingest/generations.py)."""

    __tablename__ = "cache_generation"
    #: Not backed up: a restore's inserts make a new number (collector/ops/backup/snapshot.py).
    __table_args__ = {"info": {"backup": False}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
