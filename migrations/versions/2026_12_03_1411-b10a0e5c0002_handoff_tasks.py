"""Case hand-off tasks (issue 10): follow-ups owed by a person's home province.

Revision ID: b10a0e5c0002
Revises: b10a0e5c0001
Create Date: 2026-12-03 14:11:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'b10a0e5c0002'
down_revision = 'b10a0e5c0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
