"""A real gateway per test (each backend stack), the origin county's client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from openpyxl import load_workbook

from adapters.client.api import GatewayApi, RetryPolicy
from adapters.client.store import ClientStore
from gateway.server import BackgroundServer
from tests.api.conftest import Harness, running_gateway
from tests.conftest import STACKS

# Tiny waits so retry tests stay fast; the retry logic is the same as in production.
FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05, max_retry_after_s=1.0)
ORIGIN = "430582"  # 湖南邵东: receives the examples' notifications and assist requests
RESIDENCE = "441900"  # 广东东莞: sends them


@dataclass
class County:
    """The origin county: its client, its local store and the folder for workbooks."""

    gw: Harness
    api: GatewayApi
    store: ClientStore
    out: Path
    residence: httpx.Client  # the other side, straight on the HTTP API
    origin: httpx.Client  # the county's own token on the HTTP API, to look behind the client

    def send(self, doc: dict[str, Any], client: httpx.Client | None = None) -> dict[str, Any]:
        response = (client or self.residence).post("/api/v1/messages", json=doc)
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def gateway_inbox(self, client: httpx.Client | None = None) -> list[str]:
        response = (client or self.origin).get("/api/v1/inbox")
        return [m["message_id"] for m in response.json()["messages"]]

    def status(self, message_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.residence.get(f"/api/v1/messages/{message_id}").json()
        return body


@pytest.fixture(params=STACKS)
def gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path) as harness:
        yield harness


@pytest.fixture
def county(gw: Harness, tmp_path: Path) -> Iterator[County]:
    token = gw.token(ORIGIN)
    residence = gw.node(RESIDENCE)
    store = ClientStore(tmp_path / "county" / "county.db")
    api = GatewayApi(gw.url, token, retry=FAST)
    try:
        yield County(gw, api, store, tmp_path / "county", residence, gw.client(token))
    finally:
        api.close()
        store.close()


def fill(source: Path, target: Path, answers: dict[str, dict[str, Any]]) -> Path:
    """What a clerk does: type into the answer cells of the rows named by 报文编号."""
    wb = load_workbook(source)
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            filled = answers.get(str(row[0].value))
            for column, value in (filled or {}).items():
                row[header.index(column)].value = value
    wb.save(target)
    return target


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """An ASGI app (the push receiver) on a real loopback port; yields the port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    with BackgroundServer(config) as server:
        yield server.port
