"""The deadline rule of PROTOCOL.md §4 on the clock itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from gateway.calendar.clock import Deadline, WorkingDate, WorkingDayClock
from gateway.calendar.schedule import YearSchedule
from gateway.calendar.schedule_file import load_schedule_file
from gateway.calendar.service import install_schedule_file, load_clock
from gateway.calendar.windows import Window
from gateway.reference import ReferenceSource
from message_schemas.timezone import SHANGHAI

CLOCK = WorkingDayClock()
FIVE = Window(5, "working_days")


@pytest.mark.parametrize(
    ("available", "due"),
    [
        (date(2025, 9, 30), date(2025, 10, 14)),  # 1–8 Oct off; Sat 11 Oct is worked
        (date(2026, 9, 30), date(2026, 10, 13)),  # 1–7 Oct off; Sat 10 Oct is worked
    ],
)
def test_protocol_examples(available: date, due: date) -> None:
    moment = datetime.combine(available, time(10, 30), tzinfo=SHANGHAI)
    deadline = CLOCK.due_at(moment, FIVE)
    assert deadline == Deadline(
        due_at=datetime(due.year, due.month, due.day, 23, 59, 59, 999000, tzinfo=SHANGHAI),
        due_date=due,
        provisional=False,
    )


def test_due_at_is_end_of_day_in_shanghai() -> None:
    deadline = CLOCK.due_at(datetime(2025, 9, 30, 9, tzinfo=SHANGHAI), FIVE)
    assert deadline.due_at.tzinfo is SHANGHAI
    assert deadline.due_at.timetz() == time(23, 59, 59, 999000, tzinfo=SHANGHAI)
    assert deadline.due_at.utcoffset() == timedelta(hours=8)


def test_available_date_is_taken_in_shanghai() -> None:
    # Monday 3 Mar 2025: 15:59 UTC is still Monday in Shanghai, 16:30 UTC is already Tuesday.
    still_monday = datetime(2025, 3, 3, 15, 59, tzinfo=UTC)
    assert CLOCK.due_at(still_monday, Window(1)).due_date == date(2025, 3, 4)
    already_tuesday = datetime(2025, 3, 3, 16, 30, tzinfo=UTC)
    assert CLOCK.due_at(already_tuesday, Window(1)).due_date == date(2025, 3, 5)


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        CLOCK.due_at(datetime(2025, 9, 30, 10), FIVE)


def test_the_available_date_never_counts() -> None:
    # A working Monday: one working day later is Tuesday, not Monday itself.
    assert CLOCK.add_working_days(date(2025, 3, 3), 1) == WorkingDate(date(2025, 3, 4), False)


def test_zero_returns_start_and_negative_rejected() -> None:
    assert CLOCK.add_working_days(date(2025, 10, 1), 0) == WorkingDate(date(2025, 10, 1), False)
    with pytest.raises(ValueError, match="n must be"):
        CLOCK.add_working_days(date(2025, 10, 1), -1)


def test_window_into_2027_is_provisional() -> None:
    assert CLOCK.add_working_days(date(2026, 12, 31), 5) == WorkingDate(date(2027, 1, 8), True)
    thursday = datetime(2026, 12, 24, 12, tzinfo=SHANGHAI)
    deadline = CLOCK.due_at(thursday, FIVE)
    assert (deadline.due_date, deadline.provisional) == (date(2026, 12, 31), False)  # in 2026
    assert CLOCK.due_at(thursday, Window(6)).provisional


def test_calendar_days_window() -> None:
    deadline = CLOCK.due_at(datetime(2026, 12, 20, 8, tzinfo=SHANGHAI), Window(30, "calendar_days"))
    assert deadline.due_date == date(2027, 1, 19)
    assert deadline.due_at == datetime(2027, 1, 19, 23, 59, 59, 999000, tzinfo=SHANGHAI)
    assert not deadline.provisional  # counts no holidays, so nothing to be unsure of


def test_met_by_is_inclusive_and_needs_aware_time() -> None:
    deadline = CLOCK.due_after(date(2025, 9, 30), FIVE)
    assert deadline.met_by(deadline.due_at)
    assert not deadline.met_by(deadline.due_at + timedelta(milliseconds=1))
    assert deadline.met_by(datetime(2025, 10, 14, 15, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        deadline.met_by(datetime(2025, 10, 14, 12))


def test_working_days_between() -> None:
    assert CLOCK.working_days_between(date(2025, 9, 30), date(2025, 10, 14)) == 5
    assert CLOCK.working_days_between(date(2025, 10, 14), date(2025, 9, 30)) == -5
    assert CLOCK.working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0
    # All of 2025: 261 weekdays − 18 weekdays off + 5 make-up Saturdays/Sundays.
    assert CLOCK.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 248


def test_notice_spanning_years_counts_across_the_boundary() -> None:
    # 2001-12-29 (Sat) was worked for the 2002 New Year holiday.
    assert CLOCK.is_working_day(date(2001, 12, 29))
    assert not CLOCK.is_working_day(date(2002, 1, 2))
    assert CLOCK.add_working_days(date(2001, 12, 28), 1).date == date(2001, 12, 29)


def test_explicit_schedule_overrides_fallback() -> None:
    only_jan_4 = YearSchedule(2027, frozenset({date(2027, 1, 4)}), frozenset(), "test", False)
    clock = WorkingDayClock({2027: only_jan_4})
    assert clock.add_working_days(date(2026, 12, 31), 1) == WorkingDate(date(2027, 1, 1), False)
    assert clock.add_working_days(date(2027, 1, 1), 1) == WorkingDate(date(2027, 1, 5), False)


def test_schedule_keyed_under_wrong_year_rejected() -> None:
    wrong = YearSchedule(2027, frozenset(), frozenset(), "test", False)
    with pytest.raises(ValueError, match="given as 2028"):
        WorkingDayClock({2028: wrong})


def test_loaded_2027_file_makes_it_exact_and_changes_the_answer(
    data_dir: Path, example_2027: Path
) -> None:
    source = ReferenceSource(data_dir, check_s=0)  # what a running process holds
    before = source.current().clock.due_at(datetime(2027, 2, 3, 9, tzinfo=SHANGHAI), FIVE)
    assert (before.due_date, before.provisional) == (date(2027, 2, 12), True)
    install_schedule_file(example_2027, data_dir / "calendar")
    after = source.current().clock.due_at(datetime(2027, 2, 3, 9, tzinfo=SHANGHAI), FIVE)
    # The example notice gives 5–14 Feb off, so Feb 4 is day 1 and 15–18 Feb days 2–5.
    assert (after.due_date, after.provisional) == (date(2027, 2, 18), False)
    assert (data_dir / "calendar" / "2027.toml").read_bytes() == example_2027.read_bytes()


def test_stored_file_overrides_the_package_year(data_dir: Path) -> None:
    # A (deliberately odd) operator file for 2026 wins over the package's 2026.
    (data_dir / "calendar").mkdir(parents=True)
    (data_dir / "calendar" / "2026.toml").write_text(
        'year = 2026\nsource = "test"\n'
        '[[holidays]]\nname = "元旦"\nstart = 2026-01-01\nend = 2026-01-01\n',
        "utf-8",
    )
    clock = load_clock(data_dir / "calendar")
    assert clock.schedule(2026) == load_schedule_file(data_dir / "calendar" / "2026.toml")
    assert clock.is_working_day(date(2026, 1, 2))  # off in the package (swapped), not here
    assert clock.is_working_day(date(2026, 2, 17))  # Spring Festival in the package
    assert not clock.is_working_day(date(2026, 1, 1))
