"""encrypted envelopes, receipts, purge marks, key canaries, the audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("envelope", existing_type=sa.Text(), nullable=True)
        batch_op.add_column(sa.Column("sealed_envelope", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("data_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("kek_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("purged_at", gateway.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_messages_person", ["person_key"], unique=False)
        batch_op.create_index("ix_messages_kek", ["kek_id"], unique=False)
    op.create_table(
        "kek_canaries",
        sa.Column("kek_id", sa.String(length=40), nullable=False),
        sa.Column("data_key", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kek_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("message_ids", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("kek_canaries")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_kek")
        batch_op.drop_index("ix_messages_person")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("receipt")
        batch_op.drop_column("kek_id")
        batch_op.drop_column("data_key")
        batch_op.drop_column("sealed_envelope")
