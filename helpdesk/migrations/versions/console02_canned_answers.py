"""console: canned answers (per expert and shared)

Revision ID: console02
Revises: suggest01
"""
from alembic import op
import sqlalchemy as sa


revision = 'console02'
down_revision = 'suggest01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'canned_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['experts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_canned_answers_owner_id'), 'canned_answers', ['owner_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_canned_answers_owner_id'), table_name='canned_answers')
    op.drop_table('canned_answers')
