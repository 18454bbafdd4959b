"""Code sets: named sets of codes across the tree, as MAXQDA's code sets and ATLAS.ti's code groups.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("guid", sa.String(38), nullable=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
    )
    op.create_table(
        "code_set_member",
        sa.Column("code_set_id", sa.Integer(), sa.ForeignKey("code_set.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code_id", sa.Integer(), sa.ForeignKey("code.id", ondelete="CASCADE"), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("code_set_member")
    op.drop_table("code_set")
