"""Audit hash chain: each event's sequence, previous hash and hash, and each commune's head.

Existing events are chained in the order of their ids, so an old database verifies.

Revision ID: 0007_audit_chain
Revises: 0006_accounts
Create Date: 2026-11-28 01:10:00
"""

from datetime import UTC

import sqlalchemy as sa
from alembic import op

from ticketing.domain.audit_chain import GENESIS_HASH, ChainedFields, event_hash

revision = "0007_audit_chain"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None

EVENTS = sa.table(
    "audit_events",
    sa.column("id", sa.Integer), sa.column("commune_id", sa.Integer),
    sa.column("ticket_id", sa.Integer), sa.column("actor_kind", sa.String),
    sa.column("actor_agent_id", sa.Integer), sa.column("actor_label", sa.String),
    sa.column("action", sa.String), sa.column("before", sa.JSON), sa.column("after", sa.JSON),
    sa.column("remote_addr", sa.String), sa.column("created_at", sa.DateTime),
    sa.column("sequence", sa.Integer), sa.column("previous_hash", sa.String),
    sa.column("hash", sa.String),
)
HEADS = sa.table(
    "audit_chain_heads",
    sa.column("commune_id", sa.Integer), sa.column("last_sequence", sa.Integer),
    sa.column("last_hash", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "audit_chain_heads",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"],
                                name=op.f("fk_audit_chain_heads_commune_id_communes")),
        sa.PrimaryKeyConstraint("commune_id", name=op.f("pk_audit_chain_heads")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("sequence", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("previous_hash", existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_events_sequence", ["commune_id", "sequence"])


def _chain_existing_events() -> None:
    connection = op.get_bind()
    heads: dict[int, tuple[int, str]] = {}
    rows = connection.execute(sa.select(EVENTS).order_by(EVENTS.c.commune_id, EVENTS.c.id)).all()
    for row in rows:
        sequence, previous = heads.get(row.commune_id, (0, GENESIS_HASH))
        created_at = row.created_at.replace(tzinfo=UTC)  # stored as naive UTC
        digest = event_hash(ChainedFields(
            commune_id=row.commune_id, sequence=sequence + 1, previous_hash=previous,
            created_at=created_at, actor_kind=row.actor_kind,
            actor_agent_id=row.actor_agent_id, actor_label=row.actor_label, action=row.action,
            ticket_id=row.ticket_id, before=row.before or {}, after=row.after or {},
            remote_addr=row.remote_addr))
        connection.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(
            sequence=sequence + 1, previous_hash=previous, hash=digest))
        heads[row.commune_id] = (sequence + 1, digest)
    for commune_id, (sequence, digest) in heads.items():
        connection.execute(sa.insert(HEADS).values(
            commune_id=commune_id, last_sequence=sequence, last_hash=digest))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_events_sequence", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("previous_hash")
        batch_op.drop_column("sequence")
    op.drop_table("audit_chain_heads")
