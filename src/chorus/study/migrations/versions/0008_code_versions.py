"""A version number on each code, raised by every change, so concurrent edits are caught (optimistic locking).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite can do it in place, where a batch copy would drop a table others point to
    op.add_column("code", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("code", "version")
