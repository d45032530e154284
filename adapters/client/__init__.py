"""The reference county client (县级参考客户端): pull, answer and watch deadlines.

Modules: ``store`` (the local SQLite record, all SQL), ``api`` (the gateway over HTTP with
bounded retries), ``workbook`` (the clerks' Excel files), ``service`` (pull / answer / status)
and ``adapters.receiver`` (the push endpoint).

The client's errors, in one place:

    ClientError                 base; texts carry message ids and counts, never personal data
    ├── GatewayUnavailable      no usable answer after the bounded retries (network, 429, 5xx)
    ├── GatewayRefused          the gateway said no (4xx other than 429): ``problem`` is its
    │                           RFC 9457 problem+json
    ├── LocalStoreFailed        the local database could not record something (nothing is
    │                           acknowledged after this)
    └── WorkbookError           a workbook cannot be read (not .xlsx, no known sheet)
"""

from __future__ import annotations

from typing import Any

from adapters.errors import AdapterError


class ClientError(AdapterError):
    """Base of the county client's errors."""


class GatewayUnavailable(ClientError):
    """The gateway could not be reached or kept failing; worth trying again later."""

    def __init__(
        self,
        detail: str,
        *,
        attempts: int,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.attempts = attempts
        self.status = status
        self.retry_after_s = retry_after_s


class GatewayRefused(ClientError):
    """The gateway refused the request; trying again unchanged will not help."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        title = str(problem.get("title") or f"HTTP {status}")
        super().__init__(f"{status} {title}")
        self.status = status
        self.problem = problem

    @property
    def rules(self) -> list[str]:
        errors = self.problem.get("errors")
        if not isinstance(errors, list):
            return []
        return [str(e.get("rule")) for e in errors if isinstance(e, dict)]


class LocalStoreFailed(ClientError):
    """The local store failed; the message stays in the gateway inbox (not acknowledged)."""

    def __init__(self, detail: str, *, message_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.message_id = message_id


class WorkbookError(ClientError):
    """A workbook cannot be read as a clerks' answer file."""


__all__ = [
    "ClientError",
    "GatewayRefused",
    "GatewayUnavailable",
    "LocalStoreFailed",
    "WorkbookError",
]
