"""RGPD retention: tickets.anonymised_at marks a request whose personal data was dropped.

A plain added column (no table rebuild: the SQLite search triggers on tickets stay).

Revision ID: 0015_retention
Revises: 0014_pilot_speed
Create Date: 2026-11-28 05:40:00
"""

import sqlalchemy as sa
from alembic import op

import ticketing.models.base

revision = "0015_retention"
down_revision = "0014_pilot_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("anonymised_at", ticketing.models.base.UTCDateTime(),
                                       nullable=True))


def downgrade() -> None:
    op.drop_column("tickets", "anonymised_at")
