"""The privacy tables: the key canaries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Table
from sqlmodel import Field, SQLModel

from gateway.db.types import Bytes, UTCDateTime


class KekCanaryRow(SQLModel, table=True):
    """One row per key-encryption key that ever wrapped a data key here: a known text sealed
    under it. At start a process must open every canary, or it refuses to run (a lost or
    mislaid keyring is never discovered later, by a failed read)."""

    __tablename__ = "kek_canaries"

    kek_id: str = Field(sa_column=Column(String(40), primary_key=True))
    data_key: bytes = Field(sa_column=Column(Bytes, nullable=False))
    sealed: bytes = Field(sa_column=Column(Bytes, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


KEK_CANARIES: Table = KekCanaryRow.__table__  # type: ignore[attr-defined]
