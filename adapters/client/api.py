"""The gateway's HTTP API as the county client uses it, with bounded retries.

Retried: connection errors and timeouts, 429 (waiting its Retry-After when that is short) and
502/503/504 — the gateway or a proxy in front of it is restarting or overloaded. Every call is
safe to repeat: reads, an idempotent acknowledgement, and submissions keyed by message_id.
Never retried: any other status; a 4xx means the request itself must change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_random_exponential,
)

from adapters.client import GatewayRefused, GatewayUnavailable
from gateway.logs import get_logger
from message_schemas.http import parse_retry_after

log = get_logger("adapters.client.api")

MAX_BATCH = 1000
RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "gateway-county-client/1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: before try n+1 wait a random time in
    [0, min(cap_s, base_s·2ⁿ)]; a Retry-After up to ``max_retry_after_s`` is waited instead."""

    attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 30.0
    max_retry_after_s: float = 60.0


# Called before each wait: (attempt number that failed, short reason such as "ConnectError").
RetryHook = Callable[[int, str], None]


class _Transient(Exception):
    """One failed attempt worth repeating (internal to the retry loop)."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (the standard's one parser)."""
    return parse_retry_after(value, now or datetime.now(UTC))


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"status": response.status_code, "title": response.reason_phrase or "error"}


class GatewayApi:
    """A node's view of the gateway: its inbox, acknowledgements, submissions and statuses."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: httpx.Timeout = httpx.Timeout(15),  # noqa: B008 - immutable value
        retry: RetryPolicy | None = None,
        on_retry: RetryHook | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._client = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GatewayApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the calls ------------------------------------------------------------------------

    def inbox(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """GET /api/v1/inbox: {"messages": [...], "next_after": n}."""
        return self._call("GET", "/api/v1/inbox", params={"after": after, "limit": limit})

    def jwks(self) -> dict[str, Any]:
        """GET /.well-known/jwks.json: the keys that verify the gateway's receipts."""
        return self._call("GET", "/.well-known/jwks.json")

    def ack(self, message_id: str) -> dict[str, Any]:
        """POST /api/v1/inbox/{id}/ack (idempotent)."""
        return self._call("POST", f"/api/v1/inbox/{message_id}/ack")

    def submit_batch(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /api/v1/messages/batch: per-item results (at most 1,000 messages per call)."""
        if len(messages) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} messages per batch, got {len(messages)}")
        return self._call("POST", "/api/v1/messages/batch", json={"messages": messages})

    def submit_encoded(self, bodies: Sequence[bytes]) -> dict[str, Any]:
        """The same call for messages already encoded as JSON (the importer's rows): the
        batch document is assembled from the bytes, nothing is decoded and re-encoded."""
        if len(bodies) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} messages per batch, got {len(bodies)}")
        content = b'{"messages":[' + b",".join(bodies) + b"]}"
        headers = {"Content-Type": "application/json"}
        return self._call("POST", "/api/v1/messages/batch", content=content, headers=headers)

    def status(self, message_id: str) -> dict[str, Any]:
        """GET /api/v1/messages/{id}: the lifecycle view."""
        return self._call("GET", f"/api/v1/messages/{message_id}")

    # --- the retry loop -------------------------------------------------------------------

    def _once(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:  # connect/read errors and timeouts alike
            raise _Transient(type(exc).__name__) from exc
        if response.status_code in RETRY_STATUSES:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(f"HTTP {response.status_code}", response.status_code, wait)
        if response.status_code >= 500:
            raise GatewayUnavailable(
                f"gateway error HTTP {response.status_code} / 网关内部错误",
                attempts=1,
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise GatewayRefused(response.status_code, _problem(response))
        try:
            body = response.json()
        except ValueError:
            raise GatewayUnavailable(
                "gateway answered something that is not JSON / 网关应答不是 JSON", attempts=1
            ) from None
        if not isinstance(body, dict):
            raise GatewayUnavailable("unexpected answer / 网关应答格式不符", attempts=1)
        return body

    def _wait(self, state: RetryCallState) -> float:
        policy = self.retry
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, policy.max_retry_after_s)
        jitter = wait_random_exponential(multiplier=policy.base_s, max=policy.cap_s)
        return float(jitter(state))

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        reason = exc.reason if isinstance(exc, _Transient) else type(exc).__name__
        log.warning(
            "gateway call failed, retrying",
            attempt=state.attempt_number,
            error=reason,
        )
        if self.on_retry is not None:
            self.on_retry(state.attempt_number, reason)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        policy = self.retry

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= policy.attempts:
                return True
            # A Retry-After longer than we are willing to wait: stop now, say when to retry.
            exc = state.outcome.exception() if state.outcome is not None else None
            return (
                isinstance(exc, _Transient)
                and exc.retry_after is not None
                and exc.retry_after > policy.max_retry_after_s
            )

        retrying = Retrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._before_sleep,
            sleep=time.sleep,
            reraise=True,
        )
        try:
            return retrying(self._once, method, path, **kwargs)
        except _Transient as exc:
            attempts = retrying.statistics.get("attempt_number", policy.attempts)
            raise GatewayUnavailable(
                f"gateway unavailable after {attempts} attempt(s) ({exc.reason}) "
                f"/ 网关暂时无法连接（已尝试 {attempts} 次）",
                attempts=int(attempts),
                status=exc.status,
                retry_after_s=exc.retry_after,
            ) from exc
