"""The register of letters, calls and counter visits: its yearly counter and its entries.

Revision ID: 0009_registration
Revises: 0008_dispatch
Create Date: 2026-11-28 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_registration"
down_revision = "0008_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_counters",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"],
                                name=op.f("fk_register_counters_commune_id_communes")),
        sa.PrimaryKeyConstraint("commune_id", "year", name=op.f("pk_register_counters")),
    )
    op.create_table(
        "register_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=True),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"],
                                name=op.f("fk_register_entries_commune_id_communes")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_register_entries_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["registered_by_id"], ["agents.id"],
                                name=op.f("fk_register_entries_registered_by_id_agents")),
        sa.ForeignKeyConstraint(["slip_id"], ["attachments.id"],
                                name=op.f("fk_register_entries_slip_id_attachments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_entries")),
        sa.UniqueConstraint("commune_id", "number", name="uq_register_entries_commune_number"),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_register_entries_ticket_id")),
    )
    op.create_index(op.f("ix_register_entries_commune_id"), "register_entries", ["commune_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_register_entries_commune_id"), table_name="register_entries")
    op.drop_table("register_entries")
    op.drop_table("register_counters")
