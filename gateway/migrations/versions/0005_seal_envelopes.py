"""seal the plaintext envelopes stored before encryption, in batches (resumable)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:10:00.000000

Each batch of rows is sealed and committed on its own connection, outside the migration's
transaction: a kill loses at most the batch in flight, the revision stays at 0004, and the next
start goes on with the rows still in plaintext. Each row's update writes the ciphertext and
empties the plaintext in one statement, so no row is ever half done. When all are sealed, the
space the plaintext occupied is rewritten (SQLite ``VACUUM``, PostgreSQL ``VACUUM FULL``), so
it cannot be read back from free pages or dead tuples.

The keys come from the caller (gateway.db.migrate.upgrade(..., sealer=)): a database holding
plaintext rows is refused without them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 500
messages = sa.table(
    "messages",
    sa.column("seq", sa.Integer),
    sa.column("message_id", sa.String),
    sa.column("envelope", sa.Text),
    sa.column("sealed_envelope", sa.LargeBinary),
    sa.column("data_key", sa.LargeBinary),
    sa.column("kek_id", sa.String),
)
_PLAIN = sa.and_(messages.c.envelope.is_not(None), messages.c.sealed_envelope.is_(None))


def upgrade() -> None:
    context = op.get_context()
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).where(_PLAIN)).scalar_one() == 0:
        return
    sealer = context.config.attributes.get("sealer") if context.config else None
    if sealer is None:
        raise RuntimeError(
            "plaintext messages need the keyring to be sealed: run `gateway db upgrade`"
        )
    engine = bind.engine
    with context.autocommit_block():
        after = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    sa.select(messages.c.seq, messages.c.message_id, messages.c.envelope)
                    .where(_PLAIN, messages.c.seq > after)
                    .order_by(messages.c.seq)
                    .limit(BATCH)
                ).all()
                if not rows:
                    break
                updates = []
                for seq, message_id, envelope in rows:
                    sealed = sealer.seal(message_id, envelope.encode("utf-8"))
                    updates.append(
                        {
                            "b_seq": seq,
                            "sealed_envelope": sealed.ciphertext,
                            "data_key": sealed.data_key,
                            "kek_id": sealed.kek_id,
                        }
                    )
                conn.execute(
                    messages.update()
                    .where(messages.c.seq == sa.bindparam("b_seq"), _PLAIN)
                    .values(
                        sealed_envelope=sa.bindparam("sealed_envelope"),
                        data_key=sa.bindparam("data_key"),
                        kek_id=sa.bindparam("kek_id"),
                        envelope=None,
                    ),
                    updates,
                )
                after = rows[-1].seq
        bind.exec_driver_sql("VACUUM" if bind.dialect.name == "sqlite" else "VACUUM FULL messages")


def downgrade() -> None:
    raise NotImplementedError("sealed envelopes are not decrypted back into plaintext")
