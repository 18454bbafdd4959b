"""The consensus a study's findings count: which coder holds it, whose codings it settles, on which transcripts and codes;
and each decision about a disagreement, stored as it is made so that none is lost before the consensus is written.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consensus",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coder_id", sa.Integer(), sa.ForeignKey("coder.id"), nullable=False, unique=True),
        sa.Column("coders", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("written_by", sa.String(100), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consensus_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coders", sa.String(500), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("transcript_id", sa.Integer(), sa.ForeignKey("transcript.id", ondelete="CASCADE"), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("recode_to", sa.String(200), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("coders", "unit", "transcript_id", "turn", "sentence", "code"),
    )
    op.create_index("ix_coding_coder_id", "coding", ["coder_id"])  # who has coded, asked by every analysis


def downgrade() -> None:
    op.drop_index("ix_coding_coder_id", table_name="coding")
    op.drop_table("consensus_decision")
    op.drop_table("consensus")
