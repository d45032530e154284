"""The messages table: the record of every accepted message and its obligation.

One row per accepted message. A request (notification, query, assist request) carries its
obligation in the same row (``response``, ``due_at``, ``answered_at``, ``answer_id``): there is
exactly one per request, and keeping it here makes ingest one insert per message.
The validated message (canonical JSON, personal data) is stored encrypted: ``sealed_envelope``,
``data_key`` and ``kek_id`` (gateway.privacy.sealing). ``envelope`` is the plaintext column of
databases from before encryption; migration 0005 seals and empties it. ``purged_at`` is set
when retention shredded the personal data (the data key deleted); the metadata stays for the
figures. ``receipt`` is the signed receipt given at acceptance (PROTOCOL §8.7).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, Index, String, Table, Text, text
from sqlmodel import Field, SQLModel

from gateway.db.types import BigKey, Bytes, UTCDateTime


class MessageRow(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        # The inbox: what a node has not acknowledged yet, oldest first.
        Index(
            "ix_messages_inbox",
            "node_code",
            "seq",
            sqlite_where=text("acknowledged_at IS NULL AND node_code IS NOT NULL"),
            postgresql_where=text("acknowledged_at IS NULL AND node_code IS NOT NULL"),
        ),
        Index("ix_messages_state", "state"),
        Index("ix_messages_sender_accepted", "sender", "accepted_at"),
        Index("ix_messages_node_due", "node_code", "due_at"),
        # the blind index: every message about one person, by the keyed digest of its ID number
        Index("ix_messages_person", "person_key"),
        Index("ix_messages_kek", "kek_id"),
    )

    # Cursor for the inbox and total order of acceptance.
    seq: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True))
    message_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    type: str = Field(sa_column=Column(String(20), nullable=False))
    kind: str | None = Field(default=None, sa_column=Column(String(40)))  # category/topic/urgency
    sender: str = Field(sa_column=Column(String(12), nullable=False))
    sender_node: str = Field(sa_column=Column(String(12), nullable=False))
    recipient: str | None = Field(default=None, sa_column=Column(String(12)))
    node_code: str | None = Field(default=None, sa_column=Column(String(12)))
    in_reply_to: str | None = Field(default=None, sa_column=Column(String(36), index=True))
    forwarded_from: str | None = Field(default=None, sa_column=Column(String(36)))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    envelope: str | None = Field(default=None, sa_column=Column(Text))  # before 0005 only
    sealed_envelope: bytes | None = Field(default=None, sa_column=Column(Bytes))
    data_key: bytes | None = Field(default=None, sa_column=Column(Bytes))
    kek_id: str | None = Field(default=None, sa_column=Column(String(40)))
    receipt: str | None = Field(default=None, sa_column=Column(Text))
    purged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    state: str = Field(sa_column=Column(String(16), nullable=False))
    accepted_state: str = Field(sa_column=Column(String(16), nullable=False))
    delivery: str = Field(sa_column=Column(String(16), nullable=False))
    response: str = Field(sa_column=Column(String(24), nullable=False))
    unmatched_reason: str | None = Field(default=None, sa_column=Column(String(40)))

    accepted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    available_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    due_provisional: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    answer_id: str | None = Field(default=None, sa_column=Column(String(36)))

    # keyed digest of the subject (orders pushes about one person); never the ID number
    person_key: str | None = Field(default=None, sa_column=Column(String(32)))
    event_date: date | None = Field(default=None, sa_column=Column(Date))
    submitted_on_time: bool | None = Field(default=None, sa_column=Column(Boolean))


class NodeAccessRow(SQLModel, table=True):
    """One row per node and local (Asia/Shanghai) day on which it collected its inbox (日登陆)."""

    __tablename__ = "node_access"

    node_code: str = Field(sa_column=Column(String(12), primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    first_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


# The Core tables, for bulk statements in the repository (SQLModel sets __table__ at class
# creation; type checkers do not know the attribute).
MESSAGES: Table = MessageRow.__table__  # type: ignore[attr-defined]
NODE_ACCESS: Table = NodeAccessRow.__table__  # type: ignore[attr-defined]
