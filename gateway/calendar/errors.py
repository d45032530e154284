"""Errors of the working-day clock (part of the one tree drawn in gateway/errors.py)."""

from __future__ import annotations

from message_schemas.errors import ExchangeError


class CalendarError(ExchangeError):
    """Something about the calendar could not be done."""


class CalendarDataError(CalendarError):
    """A holiday schedule or windows file is malformed: ``errors`` name each broken rule with
    its path inside the file (``holidays.2.end``); ``context["file"]`` names the file."""

    kind = "invalid"
    title = "Holiday schedule file invalid / 节假日安排文件无效"
    slug = "calendar-data"


class CalendarRangeError(CalendarError, ValueError):
    """A date the clock cannot count from or to: its year lies outside the calendar's years
    (the lunar tables behind the provisional rule end there). Callers name the field."""

    kind = "invalid"
    title = "Date outside the calendar / 日期超出工作日历范围"
    slug = "calendar-range"

    def __init__(self, year: int, first: int, last: int) -> None:
        super().__init__(f"year {year} outside the calendar's range {first}–{last}")
        self.year = year
