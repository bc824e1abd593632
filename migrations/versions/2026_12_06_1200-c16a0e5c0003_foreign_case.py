"""Flag records kept outside the case their code names (issue 16: one province rule for cases).

`submissions.foreign_case` is true for a record whose case code names a case of provinces other than the
record's (ingest.case_provinces): it is kept in its own province and changes nothing of that case. Existing
records start unflagged; `collector ingest replay` rebuilds the cases and sets it.

Revision ID: c16a0e5c0003
Revises: c16a0e5c0002
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c16a0e5c0003"
down_revision = "c16a0e5c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("foreign_case", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_submissions_foreign_case"), ["foreign_case"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_foreign_case"))
        batch_op.drop_column("foreign_case")
