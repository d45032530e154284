"""Where a year's schedule comes from when no operator file was loaded for it."""

from __future__ import annotations

from gateway.calendar.official import has_official, official_schedule
from gateway.calendar.schedule import YearSchedule
from gateway.calendar.statutory import statutory_schedule


def default_schedule(year: int) -> YearSchedule:
    """The package's official data if it has the year, else the provisional statutory rule."""
    if has_official(year):
        return official_schedule(year)
    return statutory_schedule(year)
