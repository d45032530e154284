"""What an attempt's result means, and when to try again (pure functions).

Retryable: timeouts, connection errors, 429 (honouring Retry-After) and 5xx. Permanent: any
other 4xx and an unusable endpoint — retrying cannot help, so the message is dead at once.
Backoff: exponential with full jitter and a cap (AWS Architecture Blog, "Exponential Backoff
and Jitter"), so a node coming back up is not hit by every retry at the same moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import httpx

from message_schemas.http import parse_retry_after


class Judgement(StrEnum):
    """What an attempt's answer means for the push (the worker then moves the outbox to
    lifecycle.Outbox DELIVERED, RETRYING or DEAD)."""

    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


DELIVERED, RETRY, PERMANENT = Judgement.DELIVERED, Judgement.RETRY, Judgement.PERMANENT


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Judgement
    reason: str  # status code or error class: no response body, no personal data
    retry_after_s: float | None = None


def judge_status(status: int, retry_after: str | None, now: datetime) -> Verdict:
    if 200 <= status < 300:
        return Verdict(DELIVERED, str(status))
    if status == 429:
        return Verdict(RETRY, "429", parse_retry_after(retry_after, now))
    if status >= 500:
        return Verdict(RETRY, str(status), parse_retry_after(retry_after, now))
    if status == 408:  # the receiver timed out reading: a transient condition
        return Verdict(RETRY, "408")
    return Verdict(PERMANENT, str(status))


def judge_error(error: BaseException) -> Verdict:
    """Transport errors (timeout, refused, reset, DNS) are retryable; a malformed endpoint
    URL or an unsupported scheme is permanent."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        # anyio wraps a connect failure in a group: name the error inside it, not the group
        error = error.exceptions[0]
    name = type(error).__name__
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.LocalProtocolError):
        return Verdict(PERMANENT, name)
    return Verdict(RETRY, name)


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``attempt`` failed tries: uniform(0, min(cap, base·2ⁿ⁻¹))."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(0, ceiling)


def next_delay_s(
    verdict: Verdict, attempt: int, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """A Retry-After is honoured (up to the cap) when it asks for longer than the backoff."""
    delay = backoff_s(attempt, base_s, cap_s, rng)
    if verdict.retry_after_s is not None:
        delay = max(delay, min(verdict.retry_after_s, cap_s))
    return delay
