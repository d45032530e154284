"""Building the clock from the package data plus an operator's stored schedule files.

Nothing here is cached or read from settings: the service holds the clock in force and builds
a new one when a stored file changes (gateway/reference.py).
"""

from __future__ import annotations

from pathlib import Path

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.schedule import YearSchedule
from gateway.calendar.schedule_file import load_stored_schedules, store_schedule_file


def load_clock(directory: Path | None) -> WorkingDayClock:
    """Stored files in ``directory`` (<data_dir>/calendar, one ``<year>.toml`` per loaded
    notice) override the `holidays` package for their year and make it exact."""
    return WorkingDayClock(load_stored_schedules(directory) if directory else {})


def install_schedule_file(path: Path, directory: Path) -> tuple[YearSchedule, Path]:
    """Validate a schedule file and store it in ``directory``; running processes see it
    when they next compare the directory (gateway/reference.py)."""
    return store_schedule_file(path, directory)
