"""Properties of the working-day arithmetic, checked against a day-by-day count."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.schedule_file import load_schedule_file

# Package years, the loaded (example) 2027 and provisional 2028–2029, read-only, no data dir.
EXAMPLE = Path(__file__).parent / "fixtures" / "2027-example.toml"
CLOCK = WorkingDayClock({2027: load_schedule_file(EXAMPLE)})
PLAIN = WorkingDayClock()  # 2027 provisional here

# database=None: Hypothesis must not write its example database into the repository.
PROPS = settings(max_examples=300, deadline=None, database=None)
starts = st.dates(min_value=date(2001, 1, 1), max_value=date(2029, 6, 30))
counts = st.integers(min_value=0, max_value=60)
clocks = st.sampled_from([CLOCK, PLAIN])


def brute_force(clock: WorkingDayClock, start: date, n: int) -> tuple[date, bool]:
    d, left, provisional = start, n, False
    while left:
        d += timedelta(days=1)
        provisional |= clock.schedule(d.year).provisional
        left -= clock.is_working_day(d)
    return d, provisional


@PROPS
@given(clocks, starts, counts)
def test_agrees_with_day_by_day_count(clock: WorkingDayClock, start: date, n: int) -> None:
    found = clock.add_working_days(start, n)
    assert (found.date, found.provisional) == brute_force(clock, start, n)


@PROPS
@given(clocks, starts, starts, counts)
def test_monotonic_in_start(clock: WorkingDayClock, a: date, b: date, n: int) -> None:
    early, late = min(a, b), max(a, b)
    assert clock.add_working_days(early, n).date <= clock.add_working_days(late, n).date


@PROPS
@given(clocks, starts, counts)
def test_one_more_day_is_strictly_later(clock: WorkingDayClock, start: date, n: int) -> None:
    assert clock.add_working_days(start, n + 1).date > clock.add_working_days(start, n).date


@PROPS
@given(clocks, starts, st.integers(min_value=1, max_value=60))
def test_result_is_a_working_day(clock: WorkingDayClock, start: date, n: int) -> None:
    result = clock.add_working_days(start, n).date
    assert result > start
    assert clock.is_working_day(result)


@PROPS
@given(clocks, starts, counts)
def test_between_inverts_add(clock: WorkingDayClock, start: date, n: int) -> None:
    assert clock.working_days_between(start, clock.add_working_days(start, n).date) == n


@PROPS
@given(clocks, starts, st.integers(min_value=0, max_value=900))
def test_between_counts_working_days(clock: WorkingDayClock, a: date, span: int) -> None:
    b = a + timedelta(days=span)
    expected = sum(clock.is_working_day(a + timedelta(days=i)) for i in range(1, span + 1))
    assert clock.working_days_between(a, b) == expected
    assert clock.working_days_between(b, a) == -expected
