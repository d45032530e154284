"""Official schedules as carried by the `holidays` package (holidays.China).

The package encodes every State Council notice as a table of substituted days
(``ChinaStaticHolidays.special_public_holidays``, one key per year). Every notice since 2001
moved at least one day, so the span of that table's keys is exactly the span of years whose
notice the package knows. Outside it the package still answers, but by guessing (observed
days and no make-up days), which is why those years are never taken from it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import lru_cache

from holidays.countries.china import ChinaStaticHolidays
from holidays.utils import country_holidays
from holidays.version import __version__ as holidays_version

from gateway.calendar.schedule import YearSchedule


@lru_cache(maxsize=1)
def official_years() -> range:
    """Years for which the installed `holidays` has the State Council's notice."""
    years = [int(y) for y in ChinaStaticHolidays.special_public_holidays]
    return range(min(years), max(years) + 1)


def has_official(year: int) -> bool:
    return year in official_years()


def official_schedule(year: int) -> YearSchedule:
    """The package's schedule for a year it has the notice for; KeyError otherwise."""
    return _all_official()[year]


@lru_cache(maxsize=1)
def _all_official() -> dict[int, YearSchedule]:
    years = official_years()
    # One instance for all years: a notice can move a day in the previous December, and the
    # package files such a make-up day under the later year's table.
    cn = country_holidays("CN", years=years, language="zh_CN")
    source = f"holidays {holidays_version} (国务院办公厅通知 / State Council notices)"
    all_off = {d: str(name) for d, name in cn.items()}
    days_off: dict[int, dict[date, str]] = defaultdict(dict)
    for d, name in all_off.items():
        days_off[d.year][d] = name
    makeup: dict[int, set[date]] = defaultdict(set)
    for d in cn.weekend_workdays:
        makeup[d.year].add(d)
    out: dict[int, YearSchedule] = {}
    for year in years:
        names = dict(days_off[year])
        for d in makeup[year]:
            names[d] = _makeup_name(d, all_off)
        out[year] = YearSchedule(
            year=year,
            holidays=frozenset(days_off[year]),
            makeup_workdays=frozenset(makeup[year]),
            source=source,
            provisional=False,
            names=names,
        )
    return out


def _makeup_name(d: date, days_off: dict[date, str]) -> str:
    # The package names the swapped day off "休息日（由 YYYY-MM-DD 调休）"; point back to it.
    iso = d.isoformat()
    swapped = sorted(off for off, name in days_off.items() if iso in name)
    if swapped:
        return f"调休上班（换 {', '.join(s.isoformat() for s in swapped)} 休息）"
    return "调休上班"
