"""Provisional schedule from the statutory rule alone (全国年节及纪念日放假办法, 2024 amendment).

Used for any year whose State Council notice the gateway has not been given. It counts only
the 13 statutory days as off: no days moved off a weekend, no make-up working days, because
those are exactly what the yearly notice decides and guessing them would look authoritative.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from holidays.calendars.chinese import _ChineseLunisolar

from gateway.calendar.schedule import YearSchedule

STATUTORY_SOURCE = "全国年节及纪念日放假办法（2024 年修订）法定节日，未含调休 / statutory days only"

# Only the package's lunar date tables are used here (date arithmetic), never its holiday logic.
_LUNAR = _ChineseLunisolar()


def _lunar(found: tuple[date | None, bool], what: str, year: int) -> date:
    d = found[0]
    if d is None:
        raise ValueError(f"no lunar calendar data for {what} in {year}")
    return d


@lru_cache(maxsize=256)
def statutory_schedule(year: int) -> YearSchedule:
    new_year = _lunar(_LUNAR.lunar_new_year_date(year), "Spring Festival", year)
    days: dict[date, str] = {
        date(year, 1, 1): "元旦",
        new_year - timedelta(days=1): "春节（农历除夕）",
        new_year: "春节",
        new_year + timedelta(days=1): "春节",
        new_year + timedelta(days=2): "春节",
        _LUNAR.qingming_date(year)[0]: "清明节",
        date(year, 5, 1): "劳动节",
        date(year, 5, 2): "劳动节",
        _lunar(_LUNAR.dragon_boat_date(year), "Dragon Boat Festival", year): "端午节",
        date(year, 10, 1): "国庆节",
        date(year, 10, 2): "国庆节",
        date(year, 10, 3): "国庆节",
    }
    mid_autumn = _lunar(_LUNAR.mid_autumn_date(year), "Mid-Autumn Festival", year)
    # Mid-Autumn can fall on 1–3 Oct; keep the National Day name then (still one day off).
    days.setdefault(mid_autumn, "中秋节")
    return YearSchedule(
        year=year,
        holidays=frozenset(days),
        makeup_workdays=frozenset(),
        source=STATUTORY_SOURCE,
        provisional=True,
        names={d: f"{name}（法定，临时）" for d, name in days.items()},
    )
