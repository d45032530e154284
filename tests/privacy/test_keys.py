"""Keys: a database is never opened with the wrong keyring; a rotation re-wraps every data key
and everything still opens; plaintext rows from before encryption are sealed by migration."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.db.engine import make_engine
from gateway.db.migrate import upgrade
from gateway.errors import ConfigurationError, SealedDataUnreadable
from gateway.messages import repository
from gateway.messages.keys import rewrap
from gateway.privacy import keys as privacy_keys
from gateway.privacy.keyfile import new_key
from gateway.privacy.keyset import KeySet
from gateway.privacy.sealing import Sealed, Sealer
from gateway.runtime import Runtime
from gateway.server import Gateway
from gateway.settings import Settings
from tests.api.conftest import Harness, example

runner = CliRunner()
# a message row as a database from before encryption (revision 0004) holds it
PLAINTEXT_ROW = text(
    "INSERT INTO messages (message_id, type, sender, sender_node, content_hash, envelope,"
    " state, accepted_state, delivery, response, accepted_at, due_provisional) VALUES (:id,"
    " 'notification', '441900', '441900', 'h', :env, 'routed', 'routed', 'pending', 'awaiting',"
    " :at, 0)"
)


def _sealer(tmp_path: Path, name: str = "keyring.toml") -> Sealer:
    return Sealer(
        KeySet.open_or_create(
            tmp_path / name, prefix="kek", header="# test\n", generate=True, check_s=0
        )
    )


def test_a_row_moved_to_another_message_does_not_open(tmp_path: Path) -> None:
    sealer = _sealer(tmp_path)
    a = sealer.seal("id-a", b'{"name":"x"}')
    assert sealer.open("id-a", a) == b'{"name":"x"}'
    with pytest.raises(SealedDataUnreadable):
        sealer.open("id-b", a)
    with pytest.raises(SealedDataUnreadable):  # one byte of the ciphertext changed
        sealer.open("id-a", Sealed(a.kek_id, a.data_key, a.ciphertext[:-1] + b"\x00"))
    with pytest.raises(ConfigurationError):  # a keyring without that key
        _sealer(tmp_path, "other.toml").open("id-a", a)


def test_a_gateway_refuses_to_start_with_a_different_keyring(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with Gateway(settings):
        pass
    keyring = tmp_path / "data" / "secrets" / "keyring.toml"
    keyring.rename(tmp_path / "lost.toml")  # the secrets were not restored with the database
    with pytest.raises(ConfigurationError, match="cannot decrypt the canary"):
        Gateway(Settings(data_dir=tmp_path / "data")).start()
    result = runner.invoke(app, ["db", "upgrade"], env={"GATEWAY_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 2 and "canary" in result.output
    (tmp_path / "lost.toml").replace(keyring)  # restored from the backup: it starts again
    with Gateway(Settings(data_dir=tmp_path / "data")):
        pass


def test_rotation_rewraps_every_data_key_and_all_still_opens(gw: Harness) -> None:
    residence = gw.node("441900")
    origin = gw.node("430582")
    sent = [example("notification.birth") for _ in range(5)]
    for msg in sent:
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
    old = gw.runtime.sealer.keys.active().id
    gw.runtime.sealer.keys.add(new_key(privacy_keys.KEK_PREFIX), privacy_keys.KEYRING_HEADER)
    done = rewrap(gw.runtime.sessions, gw.runtime.sealer)
    assert done.rows == 5 and done.active != old
    with gw.runtime.session() as session:
        counts = repository.kek_counts(session)
    assert counts.get(old, 0) == 0 and counts[done.active] == 5
    got = origin.get("/api/v1/inbox").json()["messages"]
    assert [m["envelope"]["message_id"] for m in got] == [m["message_id"] for m in sent]


def test_migration_seals_plaintext_rows_and_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    name = "蔺澹薇"
    try:
        upgrade(engine, "0004")
        now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            for i in range(1200):  # more than one batch
                envelope = json.dumps(
                    {"message_id": f"m{i}", "subject": {"name": name}}, ensure_ascii=False
                )
                conn.execute(
                    PLAINTEXT_ROW,
                    {"id": f"m{i}", "env": envelope, "at": now},
                )
        assert name.encode() in path.read_bytes() + path.with_name("old.db-wal").read_bytes()
        with pytest.raises(Exception, match="keyring"):
            upgrade(engine)  # plaintext rows and no keys: refused, nothing half done
        sealer = _sealer(tmp_path)
        upgrade(engine, sealer=sealer)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT message_id, envelope, sealed_envelope, data_key, kek_id FROM messages")
            ).all()
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert len(rows) == 1200 and all(r.envelope is None for r in rows)
        for r in rows[:50]:
            opened = sealer.open(r.message_id, Sealed(r.kek_id, r.data_key, r.sealed_envelope))
            assert json.loads(opened)["subject"]["name"] == name
        wal = path.with_name("old.db-wal")
        assert name.encode() not in path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    finally:
        engine.dispose()


def test_serve_in_a_fresh_data_dir_creates_private_key_files(tmp_path: Path) -> None:
    runtime = Runtime.create(Settings(data_dir=tmp_path / "data"))
    try:
        for path in (runtime.sealer.keys.path, runtime.receipts.keys.path):
            assert path.stat().st_mode & 0o777 == 0o600
            assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        runtime.close()


def test_migration_killed_half_way_resumes_and_loses_nothing(tmp_path: Path) -> None:
    """`gateway db upgrade` sealing plaintext rows is SIGKILLed after some batches; the next
    run seals the rest, and every row opens to what it held."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    rows = 30_000
    try:
        upgrade(engine, "0004")
        at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(
                PLAINTEXT_ROW,
                [
                    {"id": f"m{i:06d}", "env": json.dumps({"message_id": f"m{i:06d}"}), "at": at}
                    for i in range(rows)
                ],
            )
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        }
        gateway = str(Path(sys.executable).with_name("gateway"))
        proc = subprocess.Popen([gateway, "db", "upgrade"], env=env, stdout=subprocess.DEVNULL)
        sealed = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                sealed = conn.execute(
                    text("SELECT count(*) FROM messages WHERE sealed_envelope IS NOT NULL")
                ).scalar_one()
            if sealed >= 2000:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with engine.connect() as conn:
            sealed = conn.execute(
                text("SELECT count(*) FROM messages WHERE sealed_envelope IS NOT NULL")
            ).scalar_one()
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert 0 < sealed < rows, sealed  # killed half-way
        assert version == "0004"
        done = subprocess.run([gateway, "db", "upgrade"], env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        sealer = Sealer(KeySet(tmp_path / "data" / "secrets" / "keyring.toml"))
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT message_id, envelope, sealed_envelope, data_key, kek_id FROM messages")
            ).all()
        assert len(stored) == rows and all(r.envelope is None for r in stored)
        for r in stored:
            opened = sealer.open(r.message_id, Sealed(r.kek_id, r.data_key, r.sealed_envelope))
            assert json.loads(opened) == {"message_id": r.message_id}
    finally:
        engine.dispose()
