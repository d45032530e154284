"""The delivery outbox and the record of every attempt.

``deliveries`` has one row per message to push, written in the same transaction as the
message (transactional outbox): the database, not Redis, says what still has to be sent.
``delivery_attempts`` has one row per HTTP attempt (when, where, status or error, latency).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Table
from sqlmodel import Field, SQLModel

from gateway.db.types import BigKey, UTCDateTime
from gateway.messages.lifecycle import OPEN_OUTBOX, Outbox

# pending → (retrying →)* delivered | dead ; cancelled when the node collected and
# acknowledged it from its inbox first, or no longer has an endpoint (lifecycle.Outbox).
DELIVERY_STATES = tuple(Outbox)
OPEN_STATES = OPEN_OUTBOX


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # the order of messages to one node about one person
        Index("ix_deliveries_chain", "node_code", "person_key", "seq"),
    )

    message_id: str = Field(sa_column=Column(String(36), primary_key=True))
    seq: int = Field(sa_column=Column(BigKey, nullable=False))  # the message's acceptance order
    node_code: str = Field(sa_column=Column(String(12), nullable=False))
    # a keyed digest of the person, never the ID number itself; None when unknown
    person_key: str | None = Field(default=None, sa_column=Column(String(32)))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    window_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))  # give-up clock
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    dead_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class AttemptRow(SQLModel, table=True):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_attempts_message", "message_id", "attempt_no"),)

    id: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True))
    message_id: str = Field(sa_column=Column(String(36), nullable=False))
    attempt_no: int = Field(sa_column=Column(Integer, nullable=False))
    node_code: str = Field(sa_column=Column(String(12), nullable=False))
    endpoint: str = Field(sa_column=Column(String(500), nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    latency_ms: int = Field(sa_column=Column(Integer, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    error: str | None = Field(default=None, sa_column=Column(String(200)))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))  # delivered|retry|dead


DELIVERIES: Table = DeliveryRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
ATTEMPTS: Table = AttemptRow.__table__  # type: ignore[attr-defined]  # set by SQLModel
