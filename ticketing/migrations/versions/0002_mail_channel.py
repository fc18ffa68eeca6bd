"""Mail channel: inbound messages, mailbox positions, failures, leases; signed outgoing ids.

Revision ID: 0002_mail
Revises: 0001
Create Date: 2026-11-27 23:17:35.986981
"""

from alembic import op
import sqlalchemy as sa
import ticketing.models.base


revision = '0002_mail'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_failures',
    sa.Column('mailbox_key', sa.String(length=120), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('updated_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('mailbox_key', 'uidvalidity', 'uid', name=op.f('pk_mail_failures'))
    )
    op.create_table('mail_leases',
    sa.Column('mailbox_key', sa.String(length=120), nullable=False),
    sa.Column('holder', sa.String(length=80), nullable=False),
    sa.Column('expires_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('mailbox_key', name=op.f('pk_mail_leases'))
    )
    op.create_table('mailbox_states',
    sa.Column('mailbox_key', sa.String(length=120), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_mailbox_states_commune_id_communes')),
    sa.PrimaryKeyConstraint('mailbox_key', name=op.f('pk_mailbox_states'))
    )
    with op.batch_alter_table('mailbox_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailbox_states_commune_id'), ['commune_id'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_key', sa.String(length=120), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('raw_size', sa.Integer(), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('received_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_inbound_messages_commune_id_communes')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inbound_messages_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('commune_id', 'message_id', 'raw_sha256', name='uq_inbound_messages_identity'),
    sa.UniqueConstraint('mailbox_key', 'uidvalidity', 'uid', name='uq_inbound_messages_uid')
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index('ix_inbound_messages_status', ['commune_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_bounced_at', ticketing.models.base.UTCDateTime(), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_id'), ['message_id'], unique=False)

    # Not in a batch: on SQLite a batch copies the table and drops the old one, which with
    # foreign keys on would cascade-delete every thread entry. SQLite accepts ADD COLUMN
    # with a REFERENCES clause when the column defaults to NULL.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE tickets ADD COLUMN follow_up_of_id INTEGER '
                   'CONSTRAINT fk_tickets_follow_up_of_id_tickets REFERENCES tickets (id)')
    else:
        op.add_column('tickets', sa.Column('follow_up_of_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_tickets_follow_up_of_id_tickets'), 'tickets', 'tickets',
                              ['follow_up_of_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_follow_up_of_id_tickets'), type_='foreignkey')
        batch_op.drop_column('follow_up_of_id')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_id'))
        batch_op.drop_column('message_id')

    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_column('email_bounced_at')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_ticket_id'))
        batch_op.drop_index('ix_inbound_messages_status')
        batch_op.drop_index(batch_op.f('ix_inbound_messages_commune_id'))

    op.drop_table('inbound_messages')
    with op.batch_alter_table('mailbox_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailbox_states_commune_id'))

    op.drop_table('mailbox_states')
    op.drop_table('mail_leases')
    op.drop_table('mail_failures')
