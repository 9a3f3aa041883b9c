"""outbound lane: replies go ahead of bulk sends on the same sender

Revision ID: reliability01
Revises: security01
"""
from alembic import op
import sqlalchemy as sa


revision = 'reliability01'
down_revision = 'security01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows become replies except lessons: a backlog of lessons must not jump ahead of answers.
    op.add_column('outbound_messages', sa.Column('lane', sa.String(length=8), server_default='reply',
                                                 nullable=False))
    op.execute("UPDATE outbound_messages SET lane = 'bulk' WHERE kind = 'lesson'")


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages') as batch:
        batch.drop_column('lane')
