"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.audit.models import AUDIT_LOG

A = AUDIT_LOG.c
# Any fixed 64-bit number: the advisory lock that makes appends to the chain one at a time.
_CHAIN_LOCK_KEY = 0x6777_6175_6469_7431  # "gwaudit1"


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_chain(session: Session) -> None:
    """PostgreSQL: take the chain's transaction-level advisory lock (released at commit)."""
    session.connection().execute(select(func.pg_advisory_xact_lock(_CHAIN_LOCK_KEY)))


def last_before(session: Session, seq: int | None = None) -> tuple[int, str] | None:
    """(seq, entry_hash) of the last entry, or of the last one before ``seq``."""
    stmt = select(A.seq, A.entry_hash).order_by(A.seq.desc()).limit(1)
    if seq is not None:
        stmt = stmt.where(A.seq < seq)
    row = session.connection().execute(stmt).first()
    return (int(row.seq), str(row.entry_hash)) if row is not None else None


def insert_entry(session: Session, values: dict[str, Any]) -> int:
    """Insert an entry (``seq`` given, or assigned by the database); its seq."""
    result = session.connection().execute(insert(AUDIT_LOG).values(**values))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def set_hashes(session: Session, seq: int, prev_hash: str, entry_hash: str) -> None:
    session.connection().execute(
        update(AUDIT_LOG).where(A.seq == seq).values(prev_hash=prev_hash, entry_hash=entry_hash)
    )


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk: int = 1000,
) -> Iterator[Any]:
    """Every entry in order (within [since, until) when given), read in chunks."""
    after = 0
    while True:
        stmt = select(AUDIT_LOG).where(A.seq > after).order_by(A.seq).limit(chunk)
        if since is not None:
            stmt = stmt.where(A.at >= since)
        if until is not None:
            stmt = stmt.where(A.at < until)
        rows = session.connection().execute(stmt).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
