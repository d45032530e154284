"""The gateway's worker pushes to the county's own receiver (`gateway client receive`), which
verifies the signature with the node's secret and stores each message once; the next
`pull` then acknowledges it and puts it in the clerks' workbook."""

from __future__ import annotations

import socket
from pathlib import Path

import uvicorn

from adapters.client.api import GatewayApi
from adapters.client.service import pull
from adapters.client.store import ClientStore
from adapters.receiver import create_receiver_app
from gateway.nodes.service import node_push_secret
from gateway.server import BackgroundServer
from tests.api.conftest import Harness, example
from tests.delivery.conftest import push_gw, status, wait_until

__all__ = ["push_gw"]  # the fixture, shared with the delivery tests

ORIGIN, RESIDENCE = "430582", "441900"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_pushed_message_is_verified_stored_once_and_pulled_into_the_workbook(
    push_gw: Harness, tmp_path: Path
) -> None:
    port = _free_port()
    origin_token = push_gw.token(ORIGIN, endpoint=f"http://127.0.0.1:{port}/push")
    with push_gw.runtime.session() as session:
        _receiver, secret = node_push_secret(
            session, ORIGIN, push_gw.runtime.settings.push_signing_key
        )
    residence = push_gw.node(RESIDENCE)
    with ClientStore(tmp_path / "county" / "county.db") as store:
        config = uvicorn.Config(
            create_receiver_app(store, secret), host="127.0.0.1", port=port, log_level="warning"
        )
        with BackgroundServer(config):
            sent = [example("notification.birth"), example("notification.pregnancy")]
            for doc in sent:
                assert residence.post("/api/v1/messages", json=doc).status_code == 202
            ids = [d["message_id"] for d in sent]
            assert wait_until(
                lambda: all(status(residence, i)["delivery"] == "delivered" for i in ids)
            ), [status(residence, i) for i in ids]
            for message_id in ids:
                stored = store.get(message_id)
                assert stored is not None and stored.received_via == "push"
            assert store.count() == 2

        with GatewayApi(push_gw.url, origin_token) as api:
            result = pull(store, api, tmp_path / "county", now=push_gw.time.now())
        assert (result.received, result.already_held, result.acknowledged) == (0, 2, 2)
        assert store.count() == 2  # the pull found them stored: nothing twice
        assert result.workbook is not None and result.workbook.exists()
        for message_id in ids:
            assert status(residence, message_id)["state"] == "acknowledged"
