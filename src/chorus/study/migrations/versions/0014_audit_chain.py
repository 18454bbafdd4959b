"""A hash chain through the audit trail: each entry's hash covers its content and the hash of the entry before.

The entries already kept are chained in the order they were written. The
triggers that refuse changes to the trail are lifted for that, and only that,
and put back as they were (migration 0005).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REFUSE = "the audit log is append-only: its entries cannot be changed or deleted"


def _lift(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_frozen")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")


def _restore(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_frozen")
    else:
        op.execute(f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END")


def upgrade() -> None:
    from chorus.study.audit import link

    op.add_column("audit_log", sa.Column("previous", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("chain", sa.String(64), nullable=True))
    bind = op.get_bind()
    trail = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
        sa.column("action", sa.String), sa.column("entity", sa.String), sa.column("entity_id", sa.Integer),
        sa.column("before", sa.JSON), sa.column("after", sa.JSON), sa.column("previous", sa.String), sa.column("chain", sa.String),
    )
    rows = bind.execute(sa.select(trail.c.id, trail.c.at, trail.c.actor, trail.c.action, trail.c.entity, trail.c.entity_id,
                                  trail.c.before, trail.c.after).order_by(trail.c.id)).mappings().all()
    if not rows:
        return
    _lift(bind.dialect.name)
    previous, chained = "", []
    for row in rows:
        chain = link(previous, dict(row))
        chained.append({"key": row["id"], "previous": previous, "chain": chain})
        previous = chain
    bind.execute(sa.update(trail).where(trail.c.id == sa.bindparam("key")).values(previous=sa.bindparam("previous"), chain=sa.bindparam("chain")), chained)
    _restore(bind.dialect.name)


def downgrade() -> None:
    op.drop_column("audit_log", "chain")  # no batch copy of the table: that would drop its triggers
    op.drop_column("audit_log", "previous")
