"""All SQL of the key canaries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.privacy.models import KEK_CANARIES
from gateway.privacy.sealing import Sealed

K = KEK_CANARIES.c


def canaries(session: Session) -> list[Sealed]:
    rows = session.connection().execute(select(K.kek_id, K.data_key, K.sealed))
    return [Sealed(r.kek_id, r.data_key, r.sealed) for r in rows]


def add_canary(session: Session, sealed: Sealed, now: datetime) -> None:
    session.connection().execute(
        insert(KEK_CANARIES).values(
            kek_id=sealed.kek_id, data_key=sealed.data_key, sealed=sealed.ciphertext, created_at=now
        )
    )
