"""push secret versions on nodes; attempt endpoints without credentials

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

import gateway.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "push_secret_version", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("push_secret_previous_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "push_secret_overlap_until",
                gateway.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    _redact_attempt_endpoints()


def _redact_attempt_endpoints() -> None:
    """Attempt rows written before this version stored the endpoint as registered, userinfo
    and query included (credentials): keep scheme://host[:port]/path only, as now written.
    (The rule is copied here, not imported: a migration must not change when the code does.)"""
    attempts = sa.table(
        "delivery_attempts", sa.column("id", sa.BigInteger()), sa.column("endpoint", sa.String())
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(attempts.c.id, attempts.c.endpoint).where(
            attempts.c.endpoint.like("%@%")
            | attempts.c.endpoint.like("%?%")
            | attempts.c.endpoint.like("%#%")
        )
    ).all()
    for row_id, endpoint in rows:
        conn.execute(
            attempts.update().where(attempts.c.id == row_id).values(endpoint=_redact(endpoint))
        )


def _redact(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid endpoint / 地址无效>"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("push_secret_overlap_until")
        batch_op.drop_column("push_secret_previous_version")
        batch_op.drop_column("push_secret_version")
