"""The discussion guide's questions, and the question each turn answers (aligned, then confirmed by a researcher).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guide_question",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("probes", sa.Text(), nullable=False),
        sa.Column("section", sa.String(200), nullable=False),
    )
    op.create_table(
        "turn_question",
        sa.Column("turn_id", sa.Integer(), sa.ForeignKey("turn.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("guide_question.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("turn_question")
    op.drop_table("guide_question")
