"""Authorised contacts of a ticket: addresses whose mail quoting its code joins it.

Revision ID: 0012_mail_contacts
Revises: 0011_search
Create Date: 2026-11-28 01:05:00
"""

import sqlalchemy as sa
from alembic import op

import ticketing.models.base

revision = "0012_mail_contacts"
down_revision = "0011_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", ticketing.models.base.UTCDateTime(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["added_by_id"], ["agents.id"], ondelete="SET NULL",
                                name=op.f("fk_ticket_contacts_added_by_id_agents")),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"],
                                name=op.f("fk_ticket_contacts_commune_id_communes")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_contacts_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_contacts")),
        sa.UniqueConstraint("ticket_id", "email", name="uq_ticket_contacts_email"),
    )
    with op.batch_alter_table("ticket_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_contacts_commune_id"), ["commune_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_contacts_ticket_id"), ["ticket_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_contacts_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_contacts_commune_id"))
    op.drop_table("ticket_contacts")
