"""The nodes table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Integer, String, Table, false, text
from sqlmodel import Field, SQLModel

from gateway.db.types import BigKey, UTCDateTime

ROLES = ("node", "supervisor", "admin")
ROLE_LABELS = {"node": "业务节点", "supervisor": "监管（统计考核）", "admin": "管理员"}


class NodeRow(SQLModel, table=True):
    __tablename__ = "nodes"

    id: int | None = Field(default=None, sa_column=Column(BigKey, primary_key=True))
    code: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    endpoint: str | None = Field(default=None, sa_column=Column(String(500)))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    # sha256 of the bearer token; the token itself is shown once and never stored
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # an operator's stop switch for push retries to this node (pull keeps working)
    delivery_paused: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # the push secret's version (gateway/nodes/push_secret.py); during a rotation's overlap
    # pushes are also signed with the previous version, until push_secret_overlap_until
    push_secret_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    push_secret_previous_version: int | None = Field(default=None, sa_column=Column(Integer))
    push_secret_overlap_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


NODES: Table = NodeRow.__table__  # type: ignore[attr-defined]  # set by SQLModel at class creation
