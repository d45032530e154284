"""Writing and checking the audit log of disclosures of personal data.

Each entry records who (a node, a console user, the gateway itself), what (message ids, never
their content), when and why (the endpoint or action). ``entry_hash`` is SHA-256 over the
previous entry's hash and this entry's fields, with consecutive ``seq`` numbers: an entry
edited, deleted or moved breaks the chain at that point, and ``verify`` names it.

Appending is part of the disclosing transaction (the caller commits both or neither), and one
append at a time: PostgreSQL takes an advisory lock; SQLite inserts first, which takes the
database's single write lock, and then reads the entry before its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from gateway.audit import repository

GENESIS = "0" * 64
ACTIONS = {
    "inbox_pull": "收件箱取件 / inbox pull",
    "push": "推送投递 / push delivery",
    "message_read": "查看报文内容 / message content read",
    "console_reveal": "控制台显示个人信息 / console reveal",
    "export": "导出 / export",
}
ACTOR_KINDS = {"node": "节点 / node", "user": "用户 / user", "system": "网关 / gateway"}


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # node | user | system
    name: str


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def _fields(seq: int, row: Mapping[str, Any]) -> dict[str, Any]:
    """What an entry's hash covers (a row's mapping, or the values about to be inserted)."""
    at: datetime = row["at"]
    return {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        **{
            name: row[name]
            for name in ("actor_kind", "actor", "action", "message_ids", "count", "detail")
        },
    }


def record(
    session: Session,
    now: datetime,
    actor: Actor,
    action: str,
    message_ids: list[str],
    detail: str,
) -> int:
    """Append one entry in the caller's transaction; its seq."""
    values: dict[str, Any] = {
        "at": now.astimezone(UTC),
        "actor_kind": actor.kind,
        "actor": actor.name[:64],
        "action": action,
        "message_ids": orjson.dumps(message_ids).decode(),
        "count": len(message_ids),
        "detail": detail[:200],
    }
    if repository.is_postgresql(session):
        repository.lock_chain(session)
        last = repository.last_before(session)
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        values.update(seq=seq, prev_hash=prev, entry_hash=entry_hash(prev, _fields(seq, values)))
        repository.insert_entry(session, values)
        return seq
    # SQLite: the insert takes the write lock; only then is the entry before ours settled
    seq = repository.insert_entry(session, {**values, "prev_hash": "", "entry_hash": ""})
    last = repository.last_before(session, seq)
    prev = last[1] if last else GENESIS  # rowid: one past the largest, so consecutive
    repository.set_hashes(session, seq, prev, entry_hash(prev, _fields(seq, values)))
    return seq


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    broken_at: int | None = None  # seq of the first entry that does not check
    reason: str = ""


def verify(session: Session) -> Verdict:
    """Walk the whole chain; the first entry whose link or hash does not check."""
    prev, expected_seq, count = GENESIS, 1, 0
    for row in repository.entries(session):
        count += 1
        if row.seq != expected_seq:
            return Verdict(
                False,
                count,
                row.seq,
                f"seq {row.seq} where {expected_seq} was expected (missing entry) / 序号不连续",
            )
        if row.prev_hash != prev:
            return Verdict(
                False, count, row.seq, "prev_hash does not match the entry before / 与前一条不衔接"
            )
        if entry_hash(prev, _fields(row.seq, row._mapping)) != row.entry_hash:
            return Verdict(
                False, count, row.seq, "entry_hash does not match its fields (edited) / 内容被改动"
            )
        prev, expected_seq = row.entry_hash, row.seq + 1
    return Verdict(True, count)
