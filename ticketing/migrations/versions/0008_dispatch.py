"""Dispatch and collaboration: copies for information, forwardings, split tickets, viewings.

Revision ID: 0008_dispatch
Revises: 0007_audit_chain
Create Date: 2026-11-28 01:10:00
"""

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import UTCDateTime

revision = "0008_dispatch"
down_revision = "0007_audit_chain"
branch_labels = None
depends_on = None


def _commune() -> sa.Column:
    return sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ticket_copies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("created_by_agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _commune(),
        sa.UniqueConstraint("ticket_id", "service_code", name="uq_ticket_copies_service"),
    )
    op.create_index("ix_ticket_copies_commune_id", "ticket_copies", ["commune_id"])
    op.create_index("ix_ticket_copies_service", "ticket_copies",
                    ["commune_id", "service_code", "ticket_id"])

    op.create_table(
        "forwardings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("administration", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _commune(),
    )
    op.create_index("ix_forwardings_commune_id", "forwardings", ["commune_id"])
    op.create_index("ix_forwardings_ticket_id", "forwardings", ["ticket_id"])

    op.create_table(
        "ticket_splits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_ticket_id", sa.Integer(),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("part_ticket_id", sa.Integer(),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _commune(),
    )
    op.create_index("ix_ticket_splits_commune_id", "ticket_splits", ["commune_id"])
    op.create_index("ix_ticket_splits_source_ticket_id", "ticket_splits", ["source_ticket_id"])

    op.create_table(
        "ticket_viewings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        _commune(),
        sa.UniqueConstraint("ticket_id", "agent_id", name="uq_ticket_viewings_agent"),
    )
    op.create_index("ix_ticket_viewings_commune_id", "ticket_viewings", ["commune_id"])


def downgrade() -> None:
    for table in ("ticket_viewings", "ticket_splits", "forwardings", "ticket_copies"):
        op.drop_table(table)
