"""revocable console sessions; expert notices linked to their ticket (complete erasure)

Revision ID: security01
Revises: 7317f529bd29
"""
from alembic import op
import sqlalchemy as sa


revision = "security01"
down_revision = "7317f529bd29"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbound_messages_ticket_id_tickets", "tickets", ["ticket_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_outbound_messages_ticket_id", ["ticket_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_ticket_id")
        batch.drop_constraint("fk_outbound_messages_ticket_id_tickets", type_="foreignkey")
        batch.drop_column("ticket_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
