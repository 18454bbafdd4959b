"""REFI-QDA identities: a GUID on the study and on what QDPX files exchange

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Objects made in Chorus keep a null guid and export under a GUID derived from the
study's own, so exports are stable; objects imported from another tool keep theirs.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("participant", "focus_group", "transcript", "code", "coder", "coding", "memo")


def upgrade() -> None:
    op.add_column("study", sa.Column("guid", sa.String(length=38), nullable=True))
    op.execute(sa.text("UPDATE study SET guid = :guid").bindparams(guid=str(uuid.uuid4())))
    for table in TABLES:
        op.add_column(table, sa.Column("guid", sa.String(length=38), nullable=True))
    op.add_column("coding", sa.Column("selection_guid", sa.String(length=38), nullable=True))


def downgrade() -> None:
    op.drop_column("coding", "selection_guid")
    for table in (*reversed(TABLES), "study"):
        op.drop_column(table, "guid")  # SQLite 3.35+ drops columns in place, keeping foreign keys
