"""The pilot's indicators at a million tickets: a covering period index, a reopenings index.

On PostgreSQL ``ix_tickets_received`` is rebuilt with the columns the indicators read
(INCLUDE: index-only scans); SQLite keeps it as it is. ``ix_audit_events_reopenings`` holds
only the status changes from answered or closed back to an open status (a partial index),
so the reopen rate no longer reads every audit event. Building them on a large table locks
ticket writes for the build (seconds per million tickets).

Revision ID: 0014_pilot_speed
Revises: 0013_totp_secret_encryption
Create Date: 2026-11-28 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_pilot_speed"
down_revision = "0013_totp_secret_encryption"
branch_labels = None
depends_on = None

PILOT_COLUMNS = ["service_code", "channel", "category_code", "zone_code", "acknowledged_at",
                 "first_answer_at", "answer_due_on", "id"]
REOPENED = ("IN ('answered', 'closed')", "IN ('new', 'in_progress', 'waiting_citizen')")
REOPENING_WHERE = {
    "postgresql": f"action = 'ticket.status_changed' AND (before ->> 'status') {REOPENED[0]} "
                  f"AND (after ->> 'status') {REOPENED[1]}",
    "sqlite": f"action = 'ticket.status_changed' "
              f"AND json_extract(before, '$.status') {REOPENED[0]} "
              f"AND json_extract(after, '$.status') {REOPENED[1]}",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_tickets_received", table_name="tickets")
        op.create_index("ix_tickets_received", "tickets", ["commune_id", "received_at"],
                        postgresql_include=PILOT_COLUMNS)
    op.create_index("ix_audit_events_reopenings", "audit_events", ["commune_id", "ticket_id"],
                    postgresql_where=sa.text(REOPENING_WHERE["postgresql"]),
                    sqlite_where=sa.text(REOPENING_WHERE["sqlite"]))


def downgrade() -> None:
    op.drop_index("ix_audit_events_reopenings", table_name="audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_tickets_received", table_name="tickets")
        op.create_index("ix_tickets_received", "tickets", ["commune_id", "received_at"])
