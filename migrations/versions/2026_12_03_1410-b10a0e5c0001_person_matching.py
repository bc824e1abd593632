"""Person matching (issue 10): identity features of cases, candidate pairs, confirmed and rejected links.

Revision ID: b10a0e5c0001
Revises: 96d1174fd6e0
Create Date: 2026-12-03 14:10:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'b10a0e5c0001'
down_revision = '96d1174fd6e0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
