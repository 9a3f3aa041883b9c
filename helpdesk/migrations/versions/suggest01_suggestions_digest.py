"""programme: teacher suggestions, planner digest opt-in

Revision ID: suggest01
Revises: sessions01
"""
from alembic import op
import sqlalchemy as sa


revision = 'suggest01'
down_revision = 'sessions01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'suggestions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('teacher_id', sa.Integer(), nullable=True),
        sa.Column('teacher_key', sa.String(length=32), nullable=False),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('district', sa.String(length=80), nullable=False),
        sa.Column('area', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=40), nullable=False),
        sa.Column('grade_band', sa.String(length=40), nullable=False),
        sa.Column('coding_source', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('reply_text', sa.Text(), nullable=True),
        sa.Column('replied_at', sa.DateTime(), nullable=True),
        sa.Column('replied_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['teacher_id'], ['teachers.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['replied_by'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inbound_id'),
    )
    op.create_index('ix_suggestions_day', 'suggestions', ['day'])
    op.create_index('ix_suggestions_teacher_id', 'suggestions', ['teacher_id'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('digest_opt_in', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('digest_week', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('digest_week')
        batch.drop_column('digest_opt_in')
    op.drop_index('ix_suggestions_teacher_id', table_name='suggestions')
    op.drop_index('ix_suggestions_day', table_name='suggestions')
    op.drop_table('suggestions')
