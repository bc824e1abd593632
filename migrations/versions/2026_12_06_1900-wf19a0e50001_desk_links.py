"""Desk links: a device row of kind "desk" is a link a shelter or office opens in a browser to fill forms with
ODK Web Forms (issue 19); tablets keep kind "device".

Revision ID: wf19a0e50001
Revises: c19a0e5c0001
Create Date: 2026-12-06 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "wf19a0e50001"
down_revision = "c19a0e5c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="device"))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("kind")
