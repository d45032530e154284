"""The import ledger: which rows this office has already had accepted by the gateway.

A small SQLite file beside the exports (``导入记录.sqlite``). It makes a re-run after an
interruption cheap (rows accepted before are not sent again) and lets a later export that
repeats old rows skip them. It is a cache, not the record: the gateway's idempotency by
message id is what guarantees nothing is stored twice, so losing the ledger loses nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

LEDGER_NAME = "导入记录.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    message_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    row INTEGER NOT NULL,
    state TEXT NOT NULL,
    recipient TEXT,
    due_at TEXT,
    accepted_at TEXT NOT NULL,
    sha256 TEXT,
    receipt TEXT
)
"""
# sha256: of the RFC 8785 form of the message as sent; receipt: the gateway's signed receipt
# (PROTOCOL §8.7), the office's evidence of when it sent the row. Both added in version 2.
_ADDED = (("sha256", "TEXT"), ("receipt", "TEXT"))


@dataclass(frozen=True, slots=True)
class Entry:
    message_id: str
    digest: str  # sha256 of the message bytes: a changed row is not "already sent"
    source: str  # file name the row came from
    row: int
    state: str  # the gateway's answer: routed, unmatched, …
    recipient: str | None
    due_at: str | None
    accepted_at: str
    sha256: str | None = None
    receipt: str | None = None


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sent)")}
        for name, kind in _ADDED:
            if name not in columns:  # a ledger written before receipts existed
                self._db.execute(f"ALTER TABLE sent ADD COLUMN {name} {kind}")
        self._db.commit()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def already_sent(self, items: Sequence[tuple[str, str]]) -> set[str]:
        """Of (message_id, digest) pairs, the ids accepted before with the same content."""
        if not items:
            return set()
        wanted = dict(items)
        marks = ",".join("?" * len(wanted))
        found = self._db.execute(
            f"SELECT message_id, digest FROM sent WHERE message_id IN ({marks})",  # noqa: S608  # placeholders only
            list(wanted),
        ).fetchall()
        return {mid for mid, digest in found if wanted.get(mid) == digest}

    def record(self, entries: Iterable[Entry]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT INTO sent (message_id, digest, source, row, state, recipient, due_at, "
                "accepted_at, sha256, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(message_id) DO UPDATE SET digest = excluded.digest, "
                "source = excluded.source, row = excluded.row, state = excluded.state, "
                "recipient = excluded.recipient, due_at = excluded.due_at, "
                "sha256 = excluded.sha256, receipt = COALESCE(excluded.receipt, sent.receipt)",
                [
                    (
                        e.message_id,
                        e.digest,
                        e.source,
                        e.row,
                        e.state,
                        e.recipient,
                        e.due_at,
                        e.accepted_at,
                        e.sha256,
                        e.receipt,
                    )
                    for e in entries
                ],
            )

    def receipts(self) -> list[tuple[str, str | None, str | None]]:
        """(message_id, sha256, receipt) of every row the gateway accepted."""
        return [
            (str(mid), sha, receipt)
            for mid, sha, receipt in self._db.execute(
                "SELECT message_id, sha256, receipt FROM sent ORDER BY accepted_at"
            )
        ]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sent").fetchone()[0])
