"""A gateway with its delivery worker running, on real time and short retry settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.time_source import SystemTime
from tests.api.conftest import TIMEOUT, Harness, running_gateway
from tests.conftest import STACKS

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
    """The API harness with the delivery worker running, on real time and FAST settings."""
    with running_gateway(
        kind, tmp, worker=True, clock=SystemTime(), **{**FAST, **overrides}
    ) as harness:
        yield harness


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
