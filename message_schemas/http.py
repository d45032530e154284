"""HTTP rules of the wire contract shared by the gateway and every client of it (PROTOCOL §6,
§8.1): the problem+json media type and reading a Retry-After header. One copy: the gateway's
delivery worker and the county client both read Retry-After through ``parse_retry_after``."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

PROBLEM_JSON = "application/problem+json"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP date;
    None when absent or unreadable (never an exception: the header comes from a peer)."""
    if not value:
        return None
    value = value.strip()
    # ASCII digits only: str.isdigit() also accepts "²" (a latin-1 header byte 0xB2), on which
    # float() raises ValueError
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
