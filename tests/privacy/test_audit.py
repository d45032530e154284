"""The audit log: every inbox pull is on record in the same transaction, the chain checks, and
a hand-edited database is caught, naming the first broken entry."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.audit.chain import verify
from gateway.cli.main import app
from tests.api.conftest import Harness, example

runner = CliRunner()


def _cli(gw: Harness, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gw.runtime.settings.resolved_database_url())
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(gw.runtime.sealer.keys.path))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(gw.runtime.receipts.keys.path))
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def _pulls(gw: Harness, n: int) -> list[str]:
    residence = gw.node("441900")
    origin = gw.node("430582")
    ids = []
    for _ in range(n):
        msg = example("notification.birth")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        got = origin.get("/api/v1/inbox").json()["messages"]
        assert msg["message_id"] in [m["message_id"] for m in got]
        assert origin.post(f"/api/v1/inbox/{msg['message_id']}/ack").status_code == 200
        ids.append(msg["message_id"])
    return ids


def _entries(gw: Harness) -> list[Any]:
    with gw.runtime.engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM audit_log ORDER BY seq")))


def test_each_pull_is_recorded_and_the_chain_verifies(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _pulls(gw, 3)
    rows = _entries(gw)
    assert [(r.actor_kind, r.actor, r.action) for r in rows] == [
        ("node", "430582", "inbox_pull")
    ] * 3
    assert [json.loads(r.message_ids) for r in rows] == [[i] for i in ids]
    assert [r.seq for r in rows] == [1, 2, 3]
    code, out = _cli(gw, monkeypatch, "audit", "verify")
    assert code == 0 and json.loads(out) == {
        "ok": True,
        "entries": 3,
        "broken_at": None,
        "reason": None,
    }
    code, out = _cli(
        gw, monkeypatch, "audit", "export", "--from", "2026-11-01", "--to", "2026-12-31"
    )
    assert code == 0 and out.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert table[0][0] == "序号 seq" and "主体 actor" in table[0]
    assert [row[6] for row in table[1:]] == ids
    assert "收件箱取件" in table[1][4]
    assert table[1][8] == "sha256:" + "0" * 64  # text in a spreadsheet, not the number 0
    assert [row[9] for row in table[1:]] == [f"sha256:{r.entry_hash}" for r in rows]


@pytest.mark.parametrize(
    ("edit", "broken_at"),
    [
        ("UPDATE audit_log SET actor = '441900' WHERE seq = 2", 2),
        ("UPDATE audit_log SET message_ids = '[]', count = 0 WHERE seq = 1", 1),
        ("DELETE FROM audit_log WHERE seq = 2", 3),
    ],
)
def test_a_hand_edited_log_fails_at_the_first_broken_entry(
    gw: Harness, monkeypatch: pytest.MonkeyPatch, edit: str, broken_at: int
) -> None:
    _pulls(gw, 3)
    with gw.runtime.engine.begin() as conn:
        conn.execute(text(edit))
    with gw.runtime.session() as session:
        verdict = verify(session)
    assert not verdict.ok and verdict.broken_at == broken_at, verdict
    code, out = _cli(gw, monkeypatch, "audit", "verify")
    assert code == 1 and json.loads(out)["broken_at"] == broken_at


def test_no_record_no_disclosure(gw: Harness) -> None:
    """If the audit entry cannot be written, the inbox gives nothing and nothing changes."""
    residence = gw.node("441900")
    origin = gw.node("430582")
    msg = example("notification.birth")
    assert residence.post("/api/v1/messages", json=msg).status_code == 202
    with gw.runtime.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    try:
        refused = origin.get("/api/v1/inbox")
        assert refused.status_code == 500
        assert msg["message_id"] not in refused.text
    finally:
        with gw.runtime.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
    view = residence.get(f"/api/v1/messages/{msg['message_id']}").json()
    assert view["delivery"] == "pending" and view["timestamps"]["delivered_at"] is None
    assert origin.get("/api/v1/inbox").json()["messages"][0]["message_id"] == msg["message_id"]
