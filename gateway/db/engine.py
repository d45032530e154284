"""Engines for the embedded default (SQLite file, WAL) and for PostgreSQL, with timeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from gateway.keys.files import private_file, touch_private

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the
    # last commits), which is what the embedded default needs. journal_mode=WAL is set once
    # per file in make_engine: it is persistent, and setting it on every new connection
    # waits for the other connections' locks (measured: it stalled concurrent submissions).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _private_sqlite_files(database: str | None) -> None:
    """Create the database file 0600 before SQLite does (it would follow the umask), and make
    an existing one and its -wal/-shm 0600 (SQLite gives those the database file's mode)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        touch_private(path)
    for suffix in ("-wal", "-shm", "-journal"):
        private_file(path.with_name(path.name + suffix))


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_files(parsed.database)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # as many connections as the server's worker threads, so none is opened per request
            pool_size=40,
            max_overflow=10,
            pool_timeout=30,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")  # WAL: readers beside the writer
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Keep libpq options given in the URL (e.g. a search_path) beside our timeout.
        options = str(parsed.query.get("options", ""))
        parsed = parsed.difference_update_query(["options"])
        return create_engine(
            parsed,
            echo=echo,
            pool_size=10,
            max_overflow=10,
            pool_timeout=30,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": PG_CONNECT_TIMEOUT_S,
                "options": f"{options} -c statement_timeout={PG_STATEMENT_TIMEOUT_MS}".strip(),
            },
        )
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")
