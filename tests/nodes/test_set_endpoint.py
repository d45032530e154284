"""`gateway node set-endpoint CODE URL|--clear` changes where a node's messages are pushed;
the running gateway picks it up (its routing table is at most ROUTING_TTL_S old) without a
restart. Messages it received while it had no endpoint are not pushed afterwards: they wait
in its inbox for pull, as before."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.runtime import ROUTING_TTL_S
from tests.api.conftest import Harness, example
from tests.conftest import STACKS
from tests.delivery.conftest import pushing_gateway, status, wait_until
from tests.delivery.receivers import receiver

runner = CliRunner()
ORIGIN = "430582"


def cli(gw: Harness, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gw.runtime.settings.resolved_database_url())
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(gw.runtime.sealer.keys.path))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(gw.runtime.receipts.keys.path))
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def send(residence: Any) -> str:
    msg = example("notification.pregnancy")
    assert residence.post("/api/v1/messages", json=msg).status_code == 202
    return str(msg["message_id"])


def inbox(client: Any) -> set[str]:
    response = client.get("/api/v1/inbox", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return {m["message_id"] for m in response.json()["messages"]}


@pytest.mark.parametrize("kind", STACKS)
def test_set_endpoint_and_clear_reach_the_running_gateway(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pushing_gateway(kind, tmp_path) as gw, receiver() as county:
        residence = gw.node("441900")
        origin = gw.client(gw.token(ORIGIN))  # pull only
        before = send(residence)

        shown = cli(gw, monkeypatch, "node", "set-endpoint", ORIGIN, county.url)
        assert shown == {"code": ORIGIN, "endpoint": county.url}
        time.sleep(ROUTING_TTL_S + 0.2)  # the gateway's routing table refreshes
        pushed = send(residence)
        assert wait_until(lambda: status(residence, pushed)["delivery"] == "delivered")
        time.sleep(0.5)
        assert county.ids() == {pushed}  # the earlier one is not pushed afterwards ...
        assert before in inbox(origin)  # ... it waits for pull

        assert cli(gw, monkeypatch, "node", "set-endpoint", ORIGIN, "--clear")["endpoint"] is None
        time.sleep(ROUTING_TTL_S + 0.2)
        pulled = send(residence)
        time.sleep(1.0)
        assert county.ids() == {pushed}
        assert pulled in inbox(origin)


def test_set_endpoint_needs_a_url_or_clear_and_an_active_node() -> None:
    assert runner.invoke(app, ["node", "set-endpoint", ORIGIN]).exit_code == 2
    both = runner.invoke(app, ["node", "set-endpoint", ORIGIN, "http://x.example/", "--clear"])
    assert both.exit_code == 2
    missing = runner.invoke(app, ["node", "set-endpoint", ORIGIN, "http://x.example/"])
    assert missing.exit_code == 1 and json.loads(missing.stdout)["status"] == 404
