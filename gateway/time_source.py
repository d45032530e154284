"""Where "now" comes from. Injected everywhere so tests can move time (deadlines, overdue)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimeSource(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemTime:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualTime:
    """A clock the tests set and advance."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualTime needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
