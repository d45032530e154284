"""A real gateway on a real port per test, on each backend stack, with a hand-set clock."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.nodes.registration import register_node
from gateway.runtime import Runtime
from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import ManualTime, TimeSource
from tests.conftest import STACKS, stack_urls

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[2] / "message_schemas" / "examples" / "v1"
# Monday 2026-11-23, 10:00 in Shanghai: a working day with no holiday within two weeks.
START = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
TIMEOUT = httpx.Timeout(15.0)


def example(name: str, **changes: Any) -> dict[str, Any]:
    """An example message with a fresh message_id (and any top-level changes)."""
    doc: dict[str, Any] = copy.deepcopy(
        json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    )
    doc["message_id"] = str(uuid.uuid4())
    doc.update(changes)
    return doc


PROBLEM_JSON = "application/problem+json"


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer with this status (and, when given, an error at ``field``/``rule``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if field is not None:
        pairs = [(e["field"], e["rule"]) for e in body.get("errors", [])]
        assert (field, rule) in pairs, pairs
    return body


@dataclass
class Harness:
    url: str
    runtime: Runtime
    time: Any  # ManualTime in API tests (set, advance); real time in delivery tests
    clients: list[httpx.Client] = field(default_factory=list)

    def token(
        self, code: str, role: str = "node", name: str | None = None, endpoint: str | None = None
    ) -> str:
        with self.runtime.writing() as session:
            registered = register_node(
                session,
                routing=self.runtime.routing(),
                reference=self.runtime.reference(),
                code=code,
                name=name or f"测试节点 {code}",
                role=role,
                endpoint=endpoint,
                now=self.time.now(),
            )
            session.commit()
        self.runtime.invalidate_routing()
        return registered.token

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, timeout=TIMEOUT, headers=headers)
        self.clients.append(client)
        return client

    def node(self, code: str, role: str = "node") -> httpx.Client:
        return self.client(self.token(code, role))

    def count_messages(self) -> int:
        from sqlalchemy import func, select

        from gateway.messages.models import MessageRow

        with self.runtime.session() as session:
            return int(session.execute(select(func.count()).select_from(MessageRow)).scalar_one())


@contextmanager
def running_gateway(
    kind: str,
    tmp: Path,
    *,
    worker: bool = False,
    clock: TimeSource | None = None,
    **overrides: Any,
) -> Iterator[Harness]:
    """A gateway on a real port over one backend stack ("embedded" or "services"); with
    ``worker`` its delivery worker runs in-process. ``clock`` defaults to a ManualTime at START."""
    time_source = clock or ManualTime(START)
    with stack_urls(kind, tmp) as (database_url, redis_url):
        # token_cache_s=0: a revocation in a test takes effect at once (the cache has its
        # own tests)
        settings = Settings(
            data_dir=tmp / "data",
            database_url=database_url,
            redis_url=redis_url,
            **{"token_cache_s": 0, **overrides},
        )
        with Gateway(settings, time_source=time_source) as runtime:
            if worker and runtime.redis_url.startswith("redis://"):
                # the machine's shared Redis: start from an empty delivery schedule
                for key in runtime.redis.scan_iter("gw:delivery*"):
                    runtime.redis.delete(key)
            config = uvicorn_config(runtime, "127.0.0.1", 0, worker=worker, log_level="warning")
            with BackgroundServer(config) as server:
                harness = Harness(f"http://127.0.0.1:{server.port}", runtime, time_source)
                try:
                    yield harness
                finally:
                    for client in harness.clients:
                        client.close()


@pytest.fixture(params=STACKS)
def gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path) as harness:
        yield harness
