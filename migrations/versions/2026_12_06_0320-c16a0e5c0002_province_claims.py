"""Keep a record's claimed province and its sender's provinces (issue 16: one province rule for every sender).

`submissions.claimed_province` is the province a record's answer named outside its sender's provinces (the
record is placed in the sender's own province instead); `submission_versions.sender_provinces` is what the
sender could send for when the version arrived, so `collector ingest replay` places the record the same way.
Versions stored before stay NULL and replay as their device's province (how they were placed then).

Revision ID: c16a0e5c0002
Revises: c16a0e5c0001
Create Date: 2026-12-06 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c16a0e5c0002"
down_revision = "c16a0e5c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_province", sa.String(length=2), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_claimed_province"), ["claimed_province"], unique=False)
    with op.batch_alter_table("submission_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_provinces", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission_versions", schema=None) as batch_op:
        batch_op.drop_column("sender_provinces")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_claimed_province"))
        batch_op.drop_column("claimed_province")
