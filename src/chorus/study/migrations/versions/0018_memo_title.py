"""A memo keeps a title and a description: REFI-QDA notes have both (ATLAS.ti's "Research Plan", with the
description "day to day log about this amazing project"), and an import that kept only the text lost them.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memo") as table:
        table.add_column(sa.Column("title", sa.String(200), nullable=True))
        table.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memo") as table:
        table.drop_column("description")
        table.drop_column("title")
