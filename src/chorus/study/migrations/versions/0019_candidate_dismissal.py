"""Dismissed candidate codes in a table of their own, not memos: a dismissal is a decision about the assist's offer,
not an analyst's note, and as memos they filled the memo list with lists of segment ids (issue 43).

The memos ``chorus suggest dismiss`` wrote (description ``chorus: dismissed candidate``) move into
``candidate_dismissal`` with their coder, time, reason and members, through an audited session: each
memo's removal and each dismissal's insertion is an entry of the audit trail, chained as every entry
is, so ``chorus log --verify --rows`` still finds every row where the trail says it is.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: What a dismissal memo's description said (chorus.assist.candidates, before this revision).
DISMISSED = "chorus: dismissed candidate"
TITLE = "Dismissed candidate: "
#: Who the audit trail says moved them.
ACTOR = "chorus upgrade 0019"


def _session():  # noqa: ANN202 - an ORM session on the migration's connection, its changes in the audit trail
    from sqlalchemy.orm import sessionmaker

    from chorus.study import audit

    sessions = sessionmaker(bind=op.get_bind(), info={"actor": ACTOR})
    audit.watch(sessions)
    return sessions()


def upgrade() -> None:
    op.create_table(
        "candidate_dismissal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(400), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("coder_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coder_id"], ["coder.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    from chorus.study.models import CandidateDismissal, Memo

    session = _session()
    for memo in session.query(Memo).filter(Memo.description == DISMISSED).order_by(Memo.id).all():
        reason, _, members = memo.text.rpartition("\n\nsegments: ")
        title = memo.title or ""
        session.add(CandidateDismissal(label=title[len(TITLE):] if title.startswith(TITLE) else title, reason=reason.strip() or "Not a code.",
                                       segments=" ".join(sorted(set(members.split()))), coder_id=memo.coder_id, created_at=memo.created_at))
        session.delete(memo)
    session.commit()  # the session's part, flushed and audited; the migration's own transaction commits it all
    session.close()


def downgrade() -> None:
    from chorus.study.models import CandidateDismissal, Memo

    session = _session()
    for dismissal in session.query(CandidateDismissal).order_by(CandidateDismissal.id).all():
        session.add(Memo(title=f"{TITLE}{dismissal.label}"[:200], description=DISMISSED, coder_id=dismissal.coder_id,
                         created_at=dismissal.created_at, text=f"{dismissal.reason}\n\nsegments: {dismissal.segments}"))
        session.delete(dismissal)
    session.commit()  # the session's part, flushed and audited; the migration's own transaction commits it all
    session.close()
    op.drop_table("candidate_dismissal")
