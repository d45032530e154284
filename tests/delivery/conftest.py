"""A gateway with its delivery worker running, on real time and short retry settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import SystemTime
from tests.api.conftest import TIMEOUT, Harness
from tests.conftest import STACKS, stack_urls

FAST = {
    "delivery_timeout_s": 0.5,
    "delivery_backoff_base_s": 0.2,
    "delivery_backoff_cap_s": 1.0,
    "delivery_give_up_s": 30.0,
    "delivery_reconcile_s": 0.5,
    "delivery_lease_s": 5.0,
    "delivery_pause_recheck_s": 0.5,
}


@contextmanager
def pushing_gateway(kind: str, tmp: Path, **overrides: Any) -> Iterator[Harness]:
    with stack_urls(kind, tmp) as (database_url, redis_url):
        settings = Settings(
            data_dir=tmp / "data",
            database_url=database_url,
            redis_url=redis_url,
            token_cache_s=0,
            **{**FAST, **overrides},
        )
        with Gateway(settings, time_source=SystemTime()) as runtime:
            if runtime.redis_url.startswith("redis://"):
                # the machine's shared Redis: start from an empty delivery schedule
                for key in runtime.redis.scan_iter("gw:delivery*"):
                    runtime.redis.delete(key)
            config = uvicorn_config(runtime, "127.0.0.1", 0, worker=True, log_level="warning")
            with BackgroundServer(config) as server:
                harness = Harness(f"http://127.0.0.1:{server.port}", runtime, SystemTime())  # type: ignore[arg-type]
                try:
                    yield harness
                finally:
                    for client in harness.clients:
                        client.close()


@pytest.fixture(params=STACKS)
def push_gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with pushing_gateway(request.param, tmp_path) as harness:
        yield harness


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def status(client: httpx.Client, message_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/messages/{message_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
