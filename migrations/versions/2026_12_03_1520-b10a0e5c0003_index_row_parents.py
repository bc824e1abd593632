"""Index submission_rows.parent_id: every row deleted made the ON DELETE CASCADE check scan the table.

Deleting a record's rows (an edit, a deletion, retention) was quadratic in the number of rows stored.

Revision ID: b10a0e5c0003
Revises: b10a0e5c0002
Create Date: 2026-12-03 15:20:00
"""

from alembic import op

revision = "b10a0e5c0003"
down_revision = "b10a0e5c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_submission_rows_parent_id"), "submission_rows", ["parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_submission_rows_parent_id"), table_name="submission_rows")
