"""Each suggestion keeps the threshold its code's classifier was calibrated to, so the queue can put the
least certain first (active learning): a suggestion's distance from that threshold says how informative
the coder's decision on it is.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestion") as table:
        table.add_column(sa.Column("threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestion") as table:
        table.drop_column("threshold")
