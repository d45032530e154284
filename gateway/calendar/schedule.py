"""One year's working-day schedule (放假调休安排), whatever its source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

# Years the clock accepts at all: the lunar tables used for the fallback cover 1901–2099, and
# the People's Republic's holiday rules start in 1950.
MIN_YEAR = 1950
MAX_YEAR = 2099


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """The days that differ from "Monday–Friday works" in one calendar year.

    ``holidays`` are days off declared by the schedule (a range may include Saturdays and
    Sundays, as official notices do); ``makeup_workdays`` are the Saturdays/Sundays worked
    instead (调休上班). ``provisional`` is true when the year's official notice was not known
    and the schedule was derived from the statutory rule alone.
    """

    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    source: str
    provisional: bool
    # Chinese names for display only; not part of equality.
    names: Mapping[date, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"year {self.year} outside {MIN_YEAR}–{MAX_YEAR}")
        for d in self.holidays | self.makeup_workdays:
            if d.year != self.year:
                raise ValueError(f"{d.isoformat()} is not in {self.year}")
        if self.holidays & self.makeup_workdays:
            raise ValueError("a day cannot be both a holiday and a make-up working day")
        if any(d.weekday() < 5 for d in self.makeup_workdays):
            raise ValueError("make-up working days must be Saturdays or Sundays")
        # Freeze the names so a shared schedule cannot be changed behind the clock's back.
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    def is_working_day(self, d: date) -> bool:
        if d.year != self.year:
            raise ValueError(f"{d.isoformat()} is not in {self.year}")
        if d.weekday() >= 5:
            return d in self.makeup_workdays
        return d not in self.holidays

    def name_of(self, d: date) -> str:
        return self.names.get(d, "")


# Gives the schedule for a year nobody supplied explicitly (package data or statutory rule).
ScheduleProvider = Callable[[int], YearSchedule]
