"""The county's local record (本地库): every message received and every answer sent.

A SQLite file (WAL, synchronous=FULL) in the client's data dir. It is the county's proof of
what reached it: a message is committed here before the gateway is told it arrived, and an
answer is written here before it is sent, so a re-run sends the very same envelope again
(same id, same content) and the gateway recognises the repeat. All SQL lives in this module.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

DEFAULT_FILE = "county.db"
SCHEMA_VERSION = 2  # 2: answers.receipt
REQUEST_TYPES = ("notification", "query", "assist_request")

ReceivedVia = Literal["pull", "push"]
# pending: written, not yet confirmed by the gateway; accepted: the gateway holds it;
# refused: the gateway said no; answered: closed by an answer this client did not send.
AnswerState = Literal["pending", "accepted", "refused", "answered"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id        TEXT PRIMARY KEY,
    type              TEXT NOT NULL,
    seq               INTEGER,
    sender            TEXT NOT NULL,
    recipient         TEXT,
    in_reply_to       TEXT,
    forwarded_from    TEXT,
    available_at      TEXT,
    due_at            TEXT,
    due_provisional   INTEGER NOT NULL DEFAULT 0,
    envelope          TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    received_via      TEXT NOT NULL CHECK (received_via IN ('pull', 'push')),
    acked_at          TEXT,
    exported_at       TEXT,
    answer_message_id TEXT,
    answered_at       TEXT,
    answer_state      TEXT
);
CREATE INDEX IF NOT EXISTS messages_unexported ON messages (exported_at);
CREATE TABLE IF NOT EXISTS answers (
    answer_message_id TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL,
    type              TEXT NOT NULL,
    envelope          TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    sent_at           TEXT,
    http_status       INTEGER,
    problem           TEXT
);
CREATE INDEX IF NOT EXISTS answers_request ON answers (request_id);
"""

_MESSAGE_COLUMNS = (
    "message_id, type, seq, sender, recipient, in_reply_to, forwarded_from, available_at, "
    "due_at, due_provisional, envelope, received_at, received_via, acked_at, exported_at, "
    "answer_message_id, answered_at, answer_state"
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message_id: str
    type: str
    seq: int | None
    sender: str
    recipient: str | None
    in_reply_to: str | None
    forwarded_from: str | None
    available_at: datetime | None
    due_at: datetime | None
    due_provisional: bool
    envelope: dict[str, Any]
    received_at: datetime
    received_via: str
    acked_at: datetime | None
    exported_at: datetime | None
    answer_message_id: str | None
    answered_at: datetime | None
    answer_state: str | None

    @property
    def is_request(self) -> bool:
        return self.type in REQUEST_TYPES


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    answer_message_id: str
    request_id: str
    type: str
    envelope: dict[str, Any]
    status: str
    created_at: datetime
    sent_at: datetime | None
    http_status: int | None


def _message(row: sqlite3.Row) -> StoredMessage:
    received = _time(row["received_at"])
    assert received is not None  # NOT NULL column
    return StoredMessage(
        message_id=row["message_id"],
        type=row["type"],
        seq=row["seq"],
        sender=row["sender"],
        recipient=row["recipient"],
        in_reply_to=row["in_reply_to"],
        forwarded_from=row["forwarded_from"],
        available_at=_time(row["available_at"]),
        due_at=_time(row["due_at"]),
        due_provisional=bool(row["due_provisional"]),
        envelope=json.loads(row["envelope"]),
        received_at=received,
        received_via=row["received_via"],
        acked_at=_time(row["acked_at"]),
        exported_at=_time(row["exported_at"]),
        answer_message_id=row["answer_message_id"],
        answered_at=_time(row["answered_at"]),
        answer_state=row["answer_state"],
    )


def _answer(row: sqlite3.Row) -> StoredAnswer:
    created = _time(row["created_at"])
    assert created is not None  # NOT NULL column
    return StoredAnswer(
        answer_message_id=row["answer_message_id"],
        request_id=row["request_id"],
        type=row["type"],
        envelope=json.loads(row["envelope"]),
        status=row["status"],
        created_at=created,
        sent_at=_time(row["sent_at"]),
        http_status=row["http_status"],
    )


class ClientStore:
    """One SQLite file; safe to share between the receiver's threads (one connection, a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before we tell the gateway we have the message.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
            columns = {r["name"] for r in self._conn.execute("PRAGMA table_info(answers)")}
            if "receipt" not in columns:  # a store written by version 1
                self._conn.execute("ALTER TABLE answers ADD COLUMN receipt TEXT")
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._conn.commit()

    @classmethod
    def in_dir(cls, directory: Path) -> ClientStore:
        return cls(directory / DEFAULT_FILE)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ClientStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed before returning; rolled back on any error."""
        with self._lock:
            try:
                yield self._conn
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise

    # --- received messages ----------------------------------------------------------------

    def save(
        self,
        *,
        message_id: str,
        type: str,
        envelope: Mapping[str, Any],
        received_via: ReceivedVia,
        received_at: datetime,
        sender: str | None = None,
        recipient: str | None = None,
        in_reply_to: str | None = None,
        forwarded_from: str | None = None,
        seq: int | None = None,
        available_at: datetime | None = None,
        due_at: datetime | None = None,
        due_provisional: bool = False,
    ) -> bool:
        """Store a received message once; True if it was new (committed when this returns),
        False if this message_id was already held (then nothing is written)."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO messages (message_id, type, seq, sender, recipient, in_reply_to, "
                "forwarded_from, available_at, due_at, due_provisional, envelope, received_at, "
                "received_via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (message_id) DO NOTHING",
                (
                    message_id,
                    type,
                    seq,
                    sender or str(envelope.get("sender") or ""),
                    recipient,
                    in_reply_to,
                    forwarded_from,
                    _iso(available_at),
                    _iso(due_at),
                    int(due_provisional),
                    json.dumps(envelope, ensure_ascii=False, sort_keys=True),
                    _iso(received_at),
                    received_via,
                ),
            )
            return cur.rowcount == 1

    def fill_delivery_info(
        self,
        message_id: str,
        *,
        seq: int | None,
        recipient: str | None,
        available_at: datetime | None,
        due_at: datetime | None,
        due_provisional: bool,
    ) -> None:
        """A pushed message seen again in the inbox: fill what the push did not carry (the
        inbox cursor, the deadline), never overwrite what is already there."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET seq = COALESCE(seq, ?), recipient = COALESCE(recipient, ?), "
                "available_at = COALESCE(available_at, ?), "
                "due_provisional = CASE WHEN due_at IS NULL THEN ? ELSE due_provisional END, "
                "due_at = COALESCE(due_at, ?) WHERE message_id = ?",
                (
                    seq,
                    recipient,
                    _iso(available_at),
                    int(due_provisional),
                    _iso(due_at),
                    message_id,
                ),
            )

    def mark_acked(self, message_id: str, at: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET acked_at = COALESCE(acked_at, ?) WHERE message_id = ?",
                (_iso(at), message_id),
            )

    def mark_exported(self, message_ids: Iterable[str], at: datetime) -> None:
        with self._tx() as conn:
            conn.executemany(
                "UPDATE messages SET exported_at = ? WHERE message_id = ? AND exported_at IS NULL",
                [(_iso(at), mid) for mid in message_ids],
            )

    def get(self, message_id: str) -> StoredMessage | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id = ?",  # noqa: S608
                (message_id,),
            ).fetchone()
        return _message(row) if row is not None else None

    def unexported(self) -> list[StoredMessage]:
        """Messages not yet written to a clerks' workbook, in the order they arrived."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages "  # noqa: S608
                "WHERE exported_at IS NULL ORDER BY rowid"
            ).fetchall()
        return [_message(r) for r in rows]

    def open_requests(self) -> list[StoredMessage]:
        """Requests not yet answered (by this client or, per the gateway, otherwise), soonest
        deadline first; unknown deadlines last."""
        marks = ",".join("?" for _ in REQUEST_TYPES)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages "  # noqa: S608
                f"WHERE type IN ({marks}) "
                "AND COALESCE(answer_state, '') NOT IN ('accepted', 'answered') "
                "ORDER BY due_at IS NULL, due_at, rowid",
                REQUEST_TYPES,
            ).fetchall()
        return [_message(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def update_from_status(
        self,
        message_id: str,
        *,
        recipient: str | None,
        due_at: datetime | None,
        due_provisional: bool,
        answered_by: str | None,
        answered_at: datetime | None,
    ) -> None:
        """What GET /messages/{id} said: the deadline, and whether it is answered already."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET recipient = COALESCE(recipient, ?), "
                "due_at = COALESCE(?, due_at), due_provisional = ? WHERE message_id = ?",
                (recipient, _iso(due_at), int(due_provisional), message_id),
            )
            if answered_by is not None:
                conn.execute(
                    "UPDATE messages SET answer_message_id = ?, answered_at = ?, "
                    "answer_state = CASE WHEN answer_message_id = ? AND answer_state = 'accepted' "
                    "THEN 'accepted' ELSE 'answered' END WHERE message_id = ?",
                    (answered_by, _iso(answered_at), answered_by, message_id),
                )

    # --- answers sent ---------------------------------------------------------------------

    def sent_receipts(self) -> list[tuple[dict[str, Any], str | None]]:
        """Every answer the gateway accepted: (its envelope, its receipt or None)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT envelope, receipt FROM answers WHERE status = 'accepted' "
                "ORDER BY created_at"
            ).fetchall()
        return [(json.loads(r["envelope"]), r["receipt"]) for r in rows]

    def get_answer(self, answer_message_id: str) -> StoredAnswer | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM answers WHERE answer_message_id = ?", (answer_message_id,)
            ).fetchone()
        return _answer(row) if row is not None else None

    def record_answer(
        self,
        *,
        answer_message_id: str,
        request_id: str,
        type: str,
        envelope: Mapping[str, Any],
        created_at: datetime,
    ) -> None:
        """Write an answer before it is sent (status pending); a pending one is replaced by
        the new content, an accepted one is never changed."""
        text = json.dumps(envelope, ensure_ascii=False, sort_keys=True)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO answers (answer_message_id, request_id, type, envelope, status, "
                "created_at) VALUES (?, ?, ?, ?, 'pending', ?) "
                "ON CONFLICT (answer_message_id) DO UPDATE SET envelope = excluded.envelope, "
                "created_at = excluded.created_at, status = 'pending' "
                "WHERE answers.status != 'accepted'",
                (answer_message_id, request_id, type, text, _iso(created_at)),
            )
            conn.execute(
                "UPDATE messages SET answer_message_id = ?, answer_state = 'pending' "
                "WHERE message_id = ? AND COALESCE(answer_state, '') != 'accepted'",
                (answer_message_id, request_id),
            )

    def answer_result(
        self,
        answer_message_id: str,
        *,
        state: AnswerState,
        http_status: int | None,
        at: datetime,
        problem: Mapping[str, Any] | None = None,
        receipt: str | None = None,
    ) -> None:
        """What the gateway said to an answer sent (its signed receipt when accepted)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT request_id FROM answers WHERE answer_message_id = ?",
                (answer_message_id,),
            ).fetchone()
            if row is None:
                return
            conn.execute(
                "UPDATE answers SET status = ?, sent_at = ?, http_status = ?, problem = ?, "
                "receipt = COALESCE(?, receipt) WHERE answer_message_id = ?",
                (
                    state,
                    _iso(at),
                    http_status,
                    json.dumps(problem, ensure_ascii=False) if problem is not None else None,
                    receipt,
                    answer_message_id,
                ),
            )
            conn.execute(
                "UPDATE messages SET answer_message_id = ?, answer_state = ?, "
                "answered_at = CASE WHEN ? = 'accepted' THEN ? ELSE answered_at END "
                "WHERE message_id = ?",
                (answer_message_id, state, state, _iso(at), row["request_id"]),
            )
