"""The process-wide clock: package data plus the operator's stored schedule files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.schedule import YearSchedule
from gateway.calendar.schedule_file import load_stored_schedules, store_schedule_file
from gateway.calendar.windows import reset_windows_cache
from gateway.settings import get_settings


def schedules_dir() -> Path:
    """``<data_dir>/calendar``: one ``<year>.toml`` per loaded notice."""
    return get_settings().data_dir / "calendar"


@lru_cache(maxsize=1)
def get_clock() -> WorkingDayClock:
    """Stored files override the `holidays` package for their year and make it exact."""
    return WorkingDayClock(load_stored_schedules(schedules_dir()))


def reset_clock_cache() -> None:
    """Forget the clock and windows (after `calendar load`, or between tests)."""
    get_clock.cache_clear()
    reset_windows_cache()


def install_schedule_file(path: Path) -> tuple[YearSchedule, Path]:
    """Validate and store a schedule file, then make the next get_clock() see it."""
    schedule, stored = store_schedule_file(path, schedules_dir())
    reset_clock_cache()
    return schedule, stored
