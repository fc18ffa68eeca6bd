"""Index the outbox by recipient, for the per-sender acknowledgement cap of the mail poller.

Revision ID: 0005_outbox_recipient
Revises: 0004_pilot
Create Date: 2026-11-28 00:35:00
"""

from alembic import op

revision = "0005_outbox_recipient"
down_revision = "0004_pilot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_recipient", "outbox", ["commune_id", "to_address", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient", table_name="outbox")
