"""Index a form's records by (form, submission time, id): the console's table pages them newest first.

The console's submissions table (issue 18) reads one keyset page after another in (created_at, id) order,
never with an offset; with this index each page is a short range scan at any number of records.

Revision ID: c18a0e5c0001
Revises: c16a0e5c0003
Create Date: 2026-12-06 13:00:00
"""

from alembic import op

revision = "c18a0e5c0001"
down_revision = "c16a0e5c0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index("ix_submissions_form_created", ["form_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_form_created")
