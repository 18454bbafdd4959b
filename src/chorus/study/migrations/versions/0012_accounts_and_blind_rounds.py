"""Accounts that can be deactivated and reset by a one-time link; blind rounds of independent coding.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as table:
        table.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        table.add_column(sa.Column("reset_digest", sa.String(64), nullable=True))
        table.add_column(sa.Column("reset_expires", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "blind_round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("coders", sa.JSON(), nullable=False),
        sa.Column("transcripts", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("blind_round")
    with op.batch_alter_table("app_user") as table:
        table.drop_column("reset_expires")
        table.drop_column("reset_digest")
        table.drop_column("active")
