"""A push forged with the old public development key is refused by the county's reference
receiver (adapters/receiver.py) holding the node's real secret: that secret no longer derives
from public values, while the gateway's own pushes still verify and are stored."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from standardwebhooks.webhooks import Webhook

from adapters.client.store import ClientStore
from adapters.receiver import create_receiver_app
from gateway.keys.resolve import DEVELOPMENT_DEFAULTS
from gateway.nodes.push_secret import push_secret
from gateway.nodes.service import node_push_secret
from gateway.server import BackgroundServer
from tests.api.conftest import Harness, example
from tests.delivery.conftest import push_gw, status, wait_until

__all__ = ["push_gw"]  # the fixture, shared with the delivery tests

ORIGIN, RESIDENCE = "430582", "441900"
OLD_PUBLIC_KEY = "development-only-push-signing-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_push_forged_with_the_old_public_key_is_refused(push_gw: Harness, tmp_path: Path) -> None:
    assert OLD_PUBLIC_KEY in DEVELOPMENT_DEFAULTS
    port = _free_port()
    push_gw.token(ORIGIN, endpoint=f"http://127.0.0.1:{port}/push")
    with push_gw.runtime.session() as session:
        node, secret = node_push_secret(session, ORIGIN, push_gw.runtime.settings.push_signing_key)
    forged_secret = push_secret(OLD_PUBLIC_KEY, node.id, node.code)
    assert forged_secret != secret

    residence = push_gw.node(RESIDENCE)
    with ClientStore(tmp_path / "county" / "county.db") as store:
        config = uvicorn.Config(
            create_receiver_app(store, secret), host="127.0.0.1", port=port, log_level="warning"
        )
        with BackgroundServer(config):
            # what an attacker who read the old source can send: a well-formed message,
            # signed the documented way under the public key
            forged = example("notification.pregnancy")
            body = json.dumps(forged, ensure_ascii=False)
            now = datetime.now(UTC).replace(microsecond=0)
            headers = {
                "Content-Type": "application/json",
                "Gateway-Message-Id": forged["message_id"],
                "webhook-id": forged["message_id"],
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(forged_secret).sign(forged["message_id"], now, body),
            }
            answer = httpx.post(
                f"http://127.0.0.1:{port}/push", content=body.encode(), headers=headers, timeout=10
            )
            assert answer.status_code == 401, answer.text
            assert store.get(forged["message_id"]) is None

            # the gateway's real push, signed with the node's real secret, is stored
            real = example("notification.pregnancy")
            assert residence.post("/api/v1/messages", json=real).status_code == 202
            mid = real["message_id"]
            assert wait_until(lambda: status(residence, mid)["delivery"] == "delivered")
            stored = store.get(mid)
            assert stored is not None and stored.received_via == "push"
