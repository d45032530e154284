"""The audit log: one row per disclosure of personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from gateway.db.types import BigKey, UTCDateTime


class AuditRow(SQLModel, table=True):
    """One disclosure of personal data: who, which messages (ids, never content), when, why.
    ``entry_hash`` is SHA-256 over the previous entry's hash and this entry's fields: editing,
    deleting or reordering entries breaks the chain (gateway.audit.chain)."""

    __tablename__ = "audit_log"

    seq: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor_kind: str = Field(sa_column=Column(String(12), nullable=False))  # node, user, system
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False))
    message_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    count: int = Field(sa_column=Column(Integer, nullable=False))
    detail: str = Field(sa_column=Column(String(200), nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    entry_hash: str = Field(sa_column=Column(String(64), nullable=False))


AUDIT_LOG: Table = AuditRow.__table__  # type: ignore[attr-defined]
