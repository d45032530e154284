"""After a start on the embedded default: the data directory is 0700, the SQLite database and
its -wal/-shm files 0600, the secrets 0600 in a 0700 directory, the embedded Redis's run
directory 0700 — whatever the umask. An existing database file is made 0600 too."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db.engine import make_engine
from gateway.keys.store import secrets_path
from gateway.server import Gateway
from gateway.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022: without care, files come out world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_start_leaves_the_data_directory_private(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    # a connection open: in WAL mode the database has its -wal and -shm files
    with Gateway(Settings(data_dir=data)) as runtime, runtime.session() as session:
        session.connection().exec_driver_sql("SELECT 1")
        assert mode(data) == 0o700
        db = data / "gateway.db"
        files = [db, db.with_name("gateway.db-wal"), db.with_name("gateway.db-shm")]
        for path in files:
            assert path.exists(), path
            assert mode(path) == 0o600, (path, oct(mode(path)))
        assert mode(secrets_path(data)) == 0o600
        assert mode(secrets_path(data).parent) == 0o700
        assert mode(data / "redis") == 0o700


def test_an_existing_database_file_is_made_private(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")  # a write: the WAL exists now
            assert mode(db) == 0o600
            assert mode(db.with_name("old.db-wal")) == 0o600
    finally:
        engine.dispose()
