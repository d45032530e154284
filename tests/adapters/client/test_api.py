"""Retries: bounded, on network errors, 429 and 502/503/504 only; clear errors after."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import httpx
import pytest

from adapters.client import GatewayRefused, GatewayUnavailable
from adapters.client.api import GatewayApi, RetryPolicy, retry_after_seconds
from gateway.server import BackgroundServer, uvicorn_config
from tests.adapters.client.conftest import FAST, ORIGIN
from tests.api.conftest import Harness, example


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_gateway_is_reported_after_the_bounded_retries() -> None:
    retries: list[tuple[int, str]] = []
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    api = GatewayApi(url, "t", retry=FAST, on_retry=lambda n, why: retries.append((n, why)))
    with api, pytest.raises(GatewayUnavailable) as caught:
        api.inbox(0, 10)
    assert caught.value.attempts == FAST.attempts
    assert [n for n, _why in retries] == [1, 2, 3]  # a wait between each of the 4 attempts
    assert {why for _n, why in retries} == {"ConnectError"}
    assert "网关暂时无法连接" in str(caught.value)


def test_the_client_gets_through_once_the_gateway_comes_up(gw: Harness) -> None:
    """Connection refused on the first attempts; a real server starts on that port while the
    client waits to retry; the same call then succeeds."""
    token = gw.token(ORIGIN)
    residence = gw.node("441900")
    msg = example("notification.birth")
    assert residence.post("/api/v1/messages", json=msg).status_code == 202
    port = _free_port()
    servers = ExitStack()
    failures: list[str] = []

    def start_server(attempt: int, why: str) -> None:
        failures.append(why)
        if attempt == 2:
            config = uvicorn_config(gw.runtime, "127.0.0.1", port, log_level="warning")
            servers.enter_context(BackgroundServer(config))

    policy = RetryPolicy(attempts=5, base_s=0.01, cap_s=0.05)
    with (
        servers,
        GatewayApi(f"http://127.0.0.1:{port}", token, retry=policy, on_retry=start_server) as api,
    ):
        page = api.inbox(0, 10)
    assert failures == ["ConnectError", "ConnectError"]
    assert [m["message_id"] for m in page["messages"]] == [msg["message_id"]]


def test_a_refusal_is_not_retried(gw: Harness) -> None:
    retries: list[int] = []
    with (
        GatewayApi(
            gw.url, "no-such-token", retry=FAST, on_retry=lambda n, _w: retries.append(n)
        ) as api,
        pytest.raises(GatewayRefused) as caught,
    ):
        api.inbox(0, 10)
    assert caught.value.status == 401 and retries == []
    token = gw.token(ORIGIN)
    api = GatewayApi(gw.url, token, retry=FAST, on_retry=lambda n, _w: retries.append(n))
    with api, pytest.raises(GatewayRefused) as not_yours:
        api.ack("00000000-0000-4000-8000-000000000000")
    assert not_yours.value.status == 404 and retries == []
    assert not_yours.value.problem["status"] == 404


def _api(responses: list[httpx.Response], hits: list[httpx.Request], **kw: float) -> GatewayApi:
    script = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(request)
        return next(script)

    policy = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05, **kw)
    return GatewayApi("http://gw.test", "t", retry=policy, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_overload_and_proxy_errors_are_retried(status: int) -> None:
    hits: list[httpx.Request] = []
    ok = httpx.Response(200, json={"messages": [], "next_after": 0})
    with _api([httpx.Response(status, headers={"Retry-After": "0"}), ok], hits) as api:
        assert api.inbox(0, 10) == {"messages": [], "next_after": 0}
    assert len(hits) == 2
    assert hits[0].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize("status", [400, 403, 409, 413, 422])
def test_other_client_errors_are_not_retried(status: int) -> None:
    hits: list[httpx.Request] = []
    problem = {"status": status, "title": "no", "errors": [{"field": "$", "rule": "x"}]}
    with (
        _api([httpx.Response(status, json=problem)], hits) as api,
        pytest.raises(GatewayRefused) as caught,
    ):
        api.submit_batch([{}])
    assert len(hits) == 1 and caught.value.rules == ["x"]


def test_a_long_retry_after_stops_at_once_and_says_when() -> None:
    hits: list[httpx.Request] = []
    with (
        _api([httpx.Response(429, headers={"Retry-After": "3600"})], hits) as api,
        pytest.raises(GatewayUnavailable) as caught,
    ):
        api.status("x")
    assert len(hits) == 1
    assert caught.value.status == 429 and caught.value.retry_after_s == 3600


def test_retry_after_forms() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_a_batch_over_the_limit_is_refused_before_sending() -> None:
    hits: list[httpx.Request] = []
    with _api([], hits) as api, pytest.raises(ValueError, match="1000"):
        api.submit_batch([{}] * 1001)
    assert hits == []


def test_a_retry_after_the_gateway_cannot_read_is_ignored_not_raised() -> None:
    """One parser for the gateway and the client: "²" (latin-1 0xB2) once raised here."""
    assert retry_after_seconds("²") is None
    assert retry_after_seconds("  12 ") == 12.0
