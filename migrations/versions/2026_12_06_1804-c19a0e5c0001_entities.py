"""Entities (issue 19): datasets and their properties, entities and their versions, as ODK Central keeps them.

Revision ID: c19a0e5c0001
Revises: c18a0e5c0001
Create Date: 2026-12-06 18:04:26.070585
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c19a0e5c0001"
down_revision = "c18a0e5c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_datasets_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_datasets_project_id_name")),
    )
    op.create_table(
        "dataset_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_properties_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_properties")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_dataset_properties_dataset_id_name")),
    )
    with op.batch_alter_table("dataset_properties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_properties_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("conflict", sa.String(length=4), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("consent_sharing", sa.Boolean(), nullable=True),
        sa.Column("creator_user_id", sa.Integer(), nullable=True),
        sa.Column("creator_device_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_device_id"], ["devices.id"], name=op.f("fk_entities_creator_device_id_devices")
        ),
        sa.ForeignKeyConstraint(["creator_user_id"], ["users.id"], name=op.f("fk_entities_creator_user_id_users")),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_entities_dataset_id_datasets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("dataset_id", "uuid", name=op.f("uq_entities_dataset_id_uuid")),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entities_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index("ix_entities_dataset_province", ["dataset_id", "province_code"], unique=False)

    op.create_table(
        "entity_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "data_received",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "conflicting_properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("conflict", sa.String(length=4), nullable=True),
        sa.Column("branch_id", sa.String(length=64), nullable=True),
        sa.Column("trunk_version", sa.Integer(), nullable=True),
        sa.Column("branch_base_version", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("creator_user_id", sa.Integer(), nullable=True),
        sa.Column("creator_device_id", sa.Integer(), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_device_id"], ["devices.id"], name=op.f("fk_entity_versions_creator_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["creator_user_id"], ["users.id"], name=op.f("fk_entity_versions_creator_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_entity_versions_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submissions.id"], name=op.f("fk_entity_versions_submission_id_submissions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_versions")),
        sa.UniqueConstraint("entity_id", "version", name=op.f("uq_entity_versions_entity_id_version")),
    )
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entity_versions_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entity_versions_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_versions_submission_id"))
        batch_op.drop_index(batch_op.f("ix_entity_versions_entity_id"))

    op.drop_table("entity_versions")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index("ix_entities_dataset_province")
        batch_op.drop_index(batch_op.f("ix_entities_dataset_id"))

    op.drop_table("entities")
    with op.batch_alter_table("dataset_properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_properties_dataset_id"))

    op.drop_table("dataset_properties")
    op.drop_table("datasets")
