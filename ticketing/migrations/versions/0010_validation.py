"""The parapheur: reply drafts waiting for a validator's visa.

Revision ID: 0010_validation
Revises: 0009_registration
Create Date: 2026-11-28 01:20:00
"""

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import UTCDateTime

revision = "0010_validation"
down_revision = "0009_registration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("author_agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status_after", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("validator_role", sa.String(40), nullable=False),
        sa.Column("allow_author", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("thread_entries.id"), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_reply_drafts_commune_id", "reply_drafts", ["commune_id"])
    op.create_index("ix_reply_drafts_ticket_id", "reply_drafts", ["ticket_id"])
    op.create_index("ix_reply_drafts_queue", "reply_drafts",
                    ["commune_id", "state", "submitted_at"])


def downgrade() -> None:
    op.drop_table("reply_drafts")
