"""Initial schema: communes, people, tickets and their thread, audit trail, outbox.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 22:46:56.657450
"""

from alembic import op
import sqlalchemy as sa
import ticketing.models.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('communes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communes')),
    sa.UniqueConstraint('slug', name=op.f('uq_communes_slug'))
    )
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', ticketing.models.base.UTCDateTime(), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_agents_commune_id_communes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('commune_id', 'email', name='uq_agents_commune_email')
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agents_commune_id'), ['commune_id'], unique=False)

    op.create_table('citizens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_citizens_commune_id_communes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizens'))
    )
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.create_index('ix_citizens_commune_email', ['commune_id', 'email'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizens_commune_id'), ['commune_id'], unique=False)

    op.create_table('ticket_counters',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_ticket_counters_commune_id_communes')),
    sa.PrimaryKeyConstraint('commune_id', 'year', name=op.f('pk_ticket_counters'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('role_code', sa.String(length=40), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_memberships_agent_id_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_memberships_commune_id_communes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('agent_id', 'service_code', 'role_code', name='uq_memberships_role')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_commune_id'), ['commune_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('tracking_code', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=True),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('extra_fields', sa.JSON(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('routing_reason', sa.String(length=300), nullable=False),
    sa.Column('deadline_rule', sa.String(length=200), nullable=False),
    sa.Column('received_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('ack_due_on', sa.Date(), nullable=False),
    sa.Column('answer_due_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_at', ticketing.models.base.UTCDateTime(), nullable=True),
    sa.Column('first_answer_at', ticketing.models.base.UTCDateTime(), nullable=True),
    sa.Column('closed_at', ticketing.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agents.id'], name=op.f('fk_tickets_assignee_id_agents')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_tickets_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_tickets_commune_id_communes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('commune_id', 'number', name='uq_tickets_commune_number'),
    sa.UniqueConstraint('commune_id', 'tracking_code', name='uq_tickets_commune_tracking')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_assignee', ['commune_id', 'assignee_id', 'status', 'answer_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index('ix_tickets_queue', ['commune_id', 'service_code', 'status', 'answer_due_on', 'id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('actor_agent_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_agent_id'], ['agents.id'], name=op.f('fk_audit_events_actor_agent_id_agents')),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_audit_events_commune_id_communes')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_audit_events_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index('ix_audit_events_ticket', ['ticket_id', 'id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('reply_to', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', ticketing.models.base.UTCDateTime(), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_outbox_commune_id_communes')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbox_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('thread_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author_agent_id', sa.Integer(), nullable=True),
    sa.Column('author_signature', sa.String(length=400), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_agent_id'], ['agents.id'], name=op.f('fk_thread_entries_author_agent_id_agents')),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_thread_entries_commune_id_communes')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_thread_entries_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_entries'))
    )
    with op.batch_alter_table('thread_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_entries_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_thread_entries_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', ticketing.models.base.UTCDateTime(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_attachments_commune_id_communes')),
    sa.ForeignKeyConstraint(['entry_id'], ['thread_entries.id'], name=op.f('fk_attachments_entry_id_thread_entries')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_attachments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('public_id', name=op.f('uq_attachments_public_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachments_commune_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('thread_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_entries_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_thread_entries_commune_id'))

    op.drop_table('thread_entries')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_ticket_id'))
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index(batch_op.f('ix_outbox_commune_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_ticket')
        batch_op.drop_index(batch_op.f('ix_audit_events_commune_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_index(batch_op.f('ix_tickets_commune_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_citizen_id'))
        batch_op.drop_index('ix_tickets_assignee')

    op.drop_table('tickets')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_commune_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_agent_id'))

    op.drop_table('memberships')
    op.drop_table('ticket_counters')
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizens_commune_id'))
        batch_op.drop_index('ix_citizens_commune_email')

    op.drop_table('citizens')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_commune_id'))

    op.drop_table('agents')
    op.drop_table('communes')
