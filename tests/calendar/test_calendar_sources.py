"""Where schedules come from: the `holidays` package, the statutory fallback, chinese-calendar."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from holidays.countries.china import ChinaStaticHolidays
from holidays.utils import country_holidays

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.official import official_schedule, official_years
from gateway.calendar.schedule import YearSchedule
from gateway.calendar.sources import default_schedule
from gateway.calendar.statutory import statutory_schedule

CLOCK = WorkingDayClock()

# Dates 2004–2026 on which `holidays` and `chinese-calendar` disagree (measured; see
# docs/decisions/0002-holiday-source.md). Sat 2005-12-31 was worked under the 2006 notice
# (国办发明电〔2005〕35号: "12月31日（星期六）上班"); chinese-calendar misses it.
DISAGREEMENTS = {date(2005, 12, 31): True}


def test_official_years_come_from_the_package_table() -> None:
    years = official_years()
    assert years == range(
        min(ChinaStaticHolidays.special_public_holidays),
        max(ChinaStaticHolidays.special_public_holidays) + 1,
    )
    assert years.start == 2001
    assert 2026 in years
    assert 2027 not in years


def test_official_years_are_exact_others_provisional() -> None:
    assert not default_schedule(2026).provisional
    assert default_schedule(2026) is official_schedule(2026)
    assert default_schedule(2027).provisional
    assert default_schedule(2000).provisional


def test_package_guesses_for_2027_are_not_used() -> None:
    guessed = country_holidays("CN", years=2027)
    # The package moves the Spring Festival days that fall on the weekend to Tue/Wed 9–10 Feb…
    assert date(2027, 2, 9) in guessed
    # …but that is a guess; without the notice only the statutory days are off.
    assert CLOCK.is_working_day(date(2027, 2, 9))
    assert not CLOCK.is_working_day(date(2027, 2, 8))  # lunar 初三, a statutory day


def test_statutory_2027() -> None:
    schedule = statutory_schedule(2027)
    assert schedule.provisional
    assert schedule.makeup_workdays == frozenset()
    assert schedule.holidays == {
        date(2027, 1, 1),
        date(2027, 2, 5),  # 除夕
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
        date(2027, 4, 5),  # 清明
        date(2027, 5, 1),
        date(2027, 5, 2),
        date(2027, 6, 9),  # 端午
        date(2027, 9, 15),  # 中秋
        date(2027, 10, 1),
        date(2027, 10, 2),
        date(2027, 10, 3),
    }


def test_statutory_mid_autumn_on_national_day_counts_once() -> None:
    # In 2028 Mid-Autumn falls on 3 Oct: 12 distinct days, not 13.
    assert len(statutory_schedule(2028).holidays) == 12


def test_package_schedule_has_no_estimated_days() -> None:
    for year in official_years():
        names = official_schedule(year).names.values()
        assert not [n for n in names if "推定" in n], year


def test_year_schedule_rejects_inconsistent_data() -> None:
    with pytest.raises(ValueError, match="not in 2027"):
        YearSchedule(2027, frozenset({date(2026, 1, 1)}), frozenset(), "t", False)
    with pytest.raises(ValueError, match="Saturdays or Sundays"):
        YearSchedule(2027, frozenset(), frozenset({date(2027, 1, 4)}), "t", False)
    with pytest.raises(ValueError, match="both"):
        YearSchedule(2027, frozenset({date(2027, 1, 2)}), frozenset({date(2027, 1, 2)}), "t", False)
    with pytest.raises(ValueError, match="outside"):
        YearSchedule(2100, frozenset(), frozenset(), "t", True)


def test_cross_check_against_chinese_calendar() -> None:
    found: dict[date, bool] = {}
    d, last, checked = date(2004, 1, 1), date(2026, 12, 31), 0
    while d <= last:
        ours = CLOCK.is_working_day(d)
        if ours != chinese_calendar.is_workday(d):
            found[d] = ours
        d += timedelta(days=1)
        checked += 1
    assert checked == 8401
    assert found == DISAGREEMENTS
