"""The working-day clock (工作日时钟): pure arithmetic over year schedules.

Rule (PROTOCOL.md §4): the local date (Asia/Shanghai) on which a message became available never
counts; it is due at the end (23:59:59.999) of the Nth working day after that date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate

from gateway.calendar.errors import CalendarRangeError
from gateway.calendar.schedule import MAX_YEAR, MIN_YEAR, ScheduleProvider, YearSchedule
from gateway.calendar.sources import default_schedule
from gateway.calendar.windows import Window
from message_schemas.timezone import SHANGHAI

END_OF_DAY = time(23, 59, 59, 999000)


def _in_range(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarRangeError(year, MIN_YEAR, MAX_YEAR)
    return year


@dataclass(frozen=True, slots=True)
class WorkingDate:
    date: date
    # True when the count went through a year whose official schedule is not loaded.
    provisional: bool


@dataclass(frozen=True, slots=True)
class Deadline:
    due_at: datetime  # aware, Asia/Shanghai, 23:59:59.999
    due_date: date
    provisional: bool

    def met_by(self, accepted_at: datetime) -> bool:
        """On time means accepted at or before ``due_at``."""
        return _require_aware(accepted_at) <= self.due_at


class _YearTable:
    """One year's working days, precomputed so counting never walks day by day."""

    __slots__ = ("first", "prefix", "provisional", "schedule", "total", "workdays")

    def __init__(self, schedule: YearSchedule) -> None:
        self.schedule = schedule
        self.provisional = schedule.provisional
        self.first = date(schedule.year, 1, 1).toordinal()
        days = date(schedule.year + 1, 1, 1).toordinal() - self.first
        flags = [schedule.is_working_day(date.fromordinal(self.first + i)) for i in range(days)]
        # prefix[i] = working days among the year's first i days.
        self.prefix: list[int] = [0, *accumulate(int(f) for f in flags)]
        self.workdays: list[int] = [self.first + i for i, f in enumerate(flags) if f]
        self.total = len(self.workdays)

    def through(self, d: date) -> int:
        """Working days from 1 January up to and including ``d``."""
        return self.prefix[d.toordinal() - self.first + 1]

    def is_working(self, d: date) -> bool:
        i = d.toordinal() - self.first
        return self.prefix[i + 1] != self.prefix[i]


class WorkingDayClock:
    """Working-day arithmetic from explicit schedules, else a fallback provider per year."""

    def __init__(
        self,
        schedules: Mapping[int, YearSchedule] | None = None,
        fallback: ScheduleProvider = default_schedule,
    ) -> None:
        self._schedules = dict(schedules or {})
        for year, schedule in self._schedules.items():
            if schedule.year != year:
                raise ValueError(f"schedule for {schedule.year} given as {year}")
        self._fallback = fallback
        self._tables: dict[int, _YearTable] = {}

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            _in_range(year)
            schedule = self._schedules.get(year) or self._fallback(year)
            if schedule.year != year:
                raise ValueError(f"provider returned {schedule.year} for {year}")
            table = self._tables[year] = _YearTable(schedule)
        return table

    def schedule(self, year: int) -> YearSchedule:
        return self._table(year).schedule

    def is_working_day(self, d: date) -> bool:
        return self._table(d.year).is_working(d)

    def add_working_days(self, start: date, n: int) -> WorkingDate:
        """The Nth working day after ``start`` (start itself never counts); n=0 gives start."""
        if n < 0:
            raise ValueError("n must be ≥ 0")
        if n == 0:
            return WorkingDate(start, provisional=False)
        year, table = start.year, self._table(start.year)
        k = table.through(start)
        while n > table.total - k:
            n -= table.total - k
            year, k = year + 1, 0
            table = self._table(year)
        result = date.fromordinal(table.workdays[k + n - 1])
        passed = self.provisional_years(start + timedelta(days=1), result)
        return WorkingDate(result, provisional=bool(passed))

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        whole_years = sum(self._table(y).total for y in range(a.year, b.year))
        return whole_years - self._table(a.year).through(a) + self._table(b.year).through(b)

    def due_after(self, d: date, window: Window) -> Deadline:
        """Deadline for something that became available on local date ``d``."""
        if window.unit == "calendar_days":
            # Calendar days do not depend on any holiday schedule, so never provisional.
            _in_range(d.year)
            due, provisional = d + timedelta(days=window.amount), False
            _in_range(due.year)
        else:
            found = self.add_working_days(d, window.amount)
            due, provisional = found.date, found.provisional
        return Deadline(datetime.combine(due, END_OF_DAY, tzinfo=SHANGHAI), due, provisional)

    def due_at(self, available_at: datetime, window: Window) -> Deadline:
        """Deadline for a message that became available at ``available_at`` (aware)."""
        moment = _require_aware(available_at)
        _in_range(moment.year)  # before converting: 9999-12-31T23:59-12:00 overflows
        try:
            local = moment.astimezone(SHANGHAI)
        except OverflowError:
            raise CalendarRangeError(moment.year, MIN_YEAR, MAX_YEAR) from None
        return self.due_after(local.date(), window)

    def provisional_years(self, first: date, last: date) -> list[int]:
        """Years between two dates (inclusive) whose schedule is provisional."""
        return [y for y in range(first.year, last.year + 1) if self._table(y).provisional]


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a time zone offset / 须带时区")
    return moment
