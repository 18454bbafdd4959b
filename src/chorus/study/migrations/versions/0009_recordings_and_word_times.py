"""Word times on turns and the recording a transcript was made from, for audio sync and re-runs.

``turn.words`` holds ``[start, end, start_time, end_time]`` per word: offsets into the
transcript text and seconds into the recording, never the words themselves.
``transcript.media`` holds the recording's path, sha256, duration and how it was
transcribed (model, diarizer, speaker mapping).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: SQLite can do them in place, where a batch copy would drop tables others point to
    op.add_column("turn", sa.Column("words", sa.JSON(), nullable=True))
    op.add_column("transcript", sa.Column("media", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("transcript", "media")
    op.drop_column("turn", "words")
