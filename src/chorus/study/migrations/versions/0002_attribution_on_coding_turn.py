"""coding_turn carries its code, speaker and transcript

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The code x discipline matrix at a million codings needs one index scan, not a
three-table join. coding_turn repeats coding.code_id and turn.participant_id and
turn.transcript_id; composite foreign keys with ON UPDATE CASCADE keep the copies
in step when a code is merged or a turn's speaker is corrected.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ux_coding_id_code", "coding", ["id", "code_id"], unique=True)
    op.create_index("ux_turn_id_speaker", "turn", ["id", "participant_id", "transcript_id"], unique=True)
    op.create_table(
        "coding_turn_new",
        sa.Column("coding_id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coding_id", "code_id"], ["coding.id", "coding.code_id"], ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["turn_id", "participant_id", "transcript_id"],
            ["turn.id", "turn.participant_id", "turn.transcript_id"],
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("coding_id", "turn_id"),
    )
    op.execute(
        "INSERT INTO coding_turn_new (coding_id, turn_id, code_id, participant_id, transcript_id) "
        "SELECT ct.coding_id, ct.turn_id, c.code_id, t.participant_id, t.transcript_id "
        "FROM coding_turn ct JOIN coding c ON c.id = ct.coding_id JOIN turn t ON t.id = ct.turn_id"
    )
    op.drop_index("ix_coding_turn_turn_id", table_name="coding_turn")
    op.drop_table("coding_turn")
    op.rename_table("coding_turn_new", "coding_turn")
    op.create_index("ix_coding_turn_turn_id", "coding_turn", ["turn_id"])
    op.create_index("ix_coding_turn_attribution", "coding_turn", ["code_id", "participant_id", "transcript_id"])


def downgrade() -> None:
    op.drop_index("ix_coding_turn_attribution", table_name="coding_turn")
    op.drop_index("ix_coding_turn_turn_id", table_name="coding_turn")
    op.create_table(
        "coding_turn_old",
        sa.Column("coding_id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["coding_id"], ["coding.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["turn_id"], ["turn.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("coding_id", "turn_id"),
    )
    op.execute("INSERT INTO coding_turn_old (coding_id, turn_id) SELECT coding_id, turn_id FROM coding_turn")
    op.drop_table("coding_turn")
    op.rename_table("coding_turn_old", "coding_turn")
    op.create_index("ix_coding_turn_turn_id", "coding_turn", ["turn_id"])
    op.drop_index("ux_turn_id_speaker", table_name="turn")
    op.drop_index("ux_coding_id_code", table_name="coding")
