"""Migration 0003 on a database that has data: existing nodes get push secret version 0 (the
original derivation: their receivers keep working), and attempt rows written with a
credential-bearing endpoint keep scheme://host[:port]/path only. On both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from gateway.db.engine import make_engine
from gateway.db.migrate import upgrade


def test_upgrade_from_0002_keeps_version_0_and_redacts_old_attempts(
    stack: tuple[str, str],
) -> None:
    database_url, _redis = stack
    engine = make_engine(database_url)
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).replace(tzinfo=None)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO nodes (code, name, endpoint, role, token_hash, created_at) "
                    "VALUES ('430582', 'x', :e, 'node', 'h1', :t)"
                ),
                {"e": "http://u:pw@h:8080/in?apikey=k", "t": now},
            )
            for attempt, endpoint in enumerate(
                ["https://u:pw@h.example:8443/push?apikey=k#f", "http://h.example/plain"], 1
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO delivery_attempts (message_id, attempt_no, node_code, "
                        "endpoint, started_at, latency_ms, outcome) "
                        "VALUES ('m', :n, '430582', :e, :t, 1, 'retry')"
                    ),
                    {"n": attempt, "e": endpoint, "t": now},
                )
        upgrade(engine)
        with engine.connect() as conn:
            node = conn.execute(
                sa.text(
                    "SELECT push_secret_version, push_secret_previous_version, "
                    "push_secret_overlap_until FROM nodes"
                )
            ).one()
            endpoints = conn.execute(
                sa.text("SELECT endpoint FROM delivery_attempts ORDER BY attempt_no")
            ).scalars()
            assert tuple(node) == (0, None, None)
            assert list(endpoints) == ["https://h.example:8443/push", "http://h.example/plain"]
    finally:
        engine.dispose()
