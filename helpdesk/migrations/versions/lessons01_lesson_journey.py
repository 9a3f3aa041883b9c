"""lesson journey: lesson checks, reflection replies, certificate journey

Revision ID: lessons01
Revises: reliability01
"""
from alembic import op
import sqlalchemy as sa


revision = 'lessons01'
down_revision = 'reliability01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cpd_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_answers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('check_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('check_passed', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('cpd_deliveries', schema=None) as batch_op:
        batch_op.alter_column('check_attempts', server_default=None)
    with op.batch_alter_table('cpd_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journey', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('passed_checks', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('cpd_certificates', schema=None) as batch_op:
        batch_op.alter_column('passed_checks', server_default=None)
    op.create_table('cpd_reflection_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['delivery_id'], ['cpd_deliveries.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cpd_reflection_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cpd_reflection_replies_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cpd_reflection_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cpd_reflection_replies_delivery_id'))
    op.drop_table('cpd_reflection_replies')
    with op.batch_alter_table('cpd_certificates', schema=None) as batch_op:
        batch_op.drop_column('passed_checks')
        batch_op.drop_column('journey')
    with op.batch_alter_table('cpd_deliveries', schema=None) as batch_op:
        batch_op.drop_column('checked_at')
        batch_op.drop_column('check_passed')
        batch_op.drop_column('check_attempts')
        batch_op.drop_column('check_answers')
