"""channels: choices on outbound messages, synced content templates

Revision ID: channels01
Revises: lessons01
"""
from alembic import op
import sqlalchemy as sa


revision = 'channels01'
down_revision = 'lessons01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbound_messages', sa.Column('choices', sa.JSON(), nullable=True))
    op.create_table(
        'content_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('sid', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('definition_hash', sa.String(length=64), nullable=False),
        sa.Column('approval_status', sa.String(length=30), nullable=True),
        sa.Column('synced_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', 'language', name='uq_content_template_name_language'),
    )


def downgrade() -> None:
    op.drop_table('content_templates')
    with op.batch_alter_table('outbound_messages') as batch:
        batch.drop_column('choices')
