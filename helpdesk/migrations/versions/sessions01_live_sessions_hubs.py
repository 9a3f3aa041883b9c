"""programme: live sessions (bookings, reminders), teacher hubs (members, meetings); CPD credit for a session

Revision ID: sessions01
Revises: channels01
"""
from alembic import op
import sqlalchemy as sa


revision = 'sessions01'
down_revision = 'channels01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teacher_hubs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('district', sa.String(length=80), nullable=False),
    sa.Column('tehsil', sa.String(length=80), nullable=True),
    sa.Column('markaz', sa.String(length=80), nullable=True),
    sa.Column('coordinator_phone', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('digest_month', sa.String(length=7), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('teacher_hubs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teacher_hubs_district'), ['district'], unique=False)

    op.create_table('hub_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('announced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['hub_id'], ['teacher_hubs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hub_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_meetings_hub_id'), ['hub_id'], unique=False)

    op.create_table('hub_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['teacher_hubs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('teacher_id')
    )
    with op.batch_alter_table('hub_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_members_hub_id'), ['hub_id'], unique=False)

    op.create_table('hub_meeting_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('coming', sa.Boolean(), nullable=False),
    sa.Column('replied_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['hub_meetings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'teacher_id', name='uq_hub_meeting_reply_teacher')
    )
    with op.batch_alter_table('hub_meeting_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_meeting_replies_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('live_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=False),
    sa.Column('host_expert_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('meeting_link', sa.String(length=500), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('recording_link', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('announced_at', sa.DateTime(), nullable=True),
    sa.Column('day_reminders_at', sa.DateTime(), nullable=True),
    sa.Column('hour_reminders_at', sa.DateTime(), nullable=True),
    sa.Column('summary_sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['host_expert_id'], ['experts.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_live_sessions_status_start', ['status', 'starts_at'], unique=False)

    op.create_table('session_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('booked_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('question', sa.Text(), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('attended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'teacher_id', name='uq_session_booking_teacher')
    )
    with op.batch_alter_table('session_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_bookings_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_bookings_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('session_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['session_bookings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id', 'kind', name='uq_session_reminder_kind')
    )
    with op.batch_alter_table('cpd_credits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
        batch_op.alter_column('delivery_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint('uq_cpd_credits_booking_id', ['booking_id'])
        batch_op.create_foreign_key('fk_cpd_credits_booking_id', 'session_bookings', ['booking_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('cpd_credits', schema=None) as batch_op:
        batch_op.drop_constraint('fk_cpd_credits_booking_id', type_='foreignkey')
        batch_op.drop_constraint('uq_cpd_credits_booking_id', type_='unique')
        batch_op.alter_column('delivery_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('booking_id')

    op.drop_table('session_reminders')
    with op.batch_alter_table('session_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_bookings_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_session_bookings_session_id'))

    op.drop_table('session_bookings')
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_live_sessions_status_start')

    op.drop_table('live_sessions')
    with op.batch_alter_table('hub_meeting_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_meeting_replies_meeting_id'))

    op.drop_table('hub_meeting_replies')
    with op.batch_alter_table('hub_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_members_hub_id'))

    op.drop_table('hub_members')
    with op.batch_alter_table('hub_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_meetings_hub_id'))

    op.drop_table('hub_meetings')
    with op.batch_alter_table('teacher_hubs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teacher_hubs_district'))

    op.drop_table('teacher_hubs')
