"""Case hand-off tasks (issue 10): follow-ups owed by a person's home province.

Existing cases get their tasks from `collector tasks sync` (or `collector ingest replay`).

Revision ID: b10a0e5c0002
Revises: b10a0e5c0001
Create Date: 2026-12-03 14:11:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b10a0e5c0002"
down_revision = "b10a0e5c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("home_province", sa.String(length=2), nullable=False),
        sa.Column("home_district", sa.String(length=4), nullable=True),
        sa.Column("origin_province", sa.String(length=2), nullable=False),
        sa.Column("consent_sharing", sa.Boolean(), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_tasks_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["closed_by_id"], ["submissions.id"], name=op.f("fk_tasks_closed_by_id_submissions")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_tasks_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("project_id", "case_code", "kind", name=op.f("uq_tasks_project_id_case_code_kind")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_tasks_home_province_status", ["home_province", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_home_province_status")
        batch_op.drop_index(batch_op.f("ix_tasks_case_id"))

    op.drop_table("tasks")
