"""Schedule files: the example loads; every broken rule is named by field and rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.calendar.errors import CalendarDataError
from gateway.calendar.schedule_file import (
    load_schedule_file,
    load_stored_schedules,
    store_schedule_file,
)
from gateway.errors import problem_of

VALID = """\
year = 2027
source = "test notice"

[[holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-03

[[holidays]]
name = "春节"
start = 2027-02-05
end = 2027-02-14

[[makeup_workdays]]
date = 2027-02-20
holiday = "春节"
"""


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    with pytest.raises(CalendarDataError) as info:
        load_schedule_file(_write(tmp_path, text))
    assert info.value.errors, "a CalendarDataError must list its errors"
    return [(e.field, e.rule) for e in info.value.errors]


def test_valid_file_loads(tmp_path: Path) -> None:
    schedule = load_schedule_file(_write(tmp_path, VALID))
    assert schedule.year == 2027
    assert not schedule.provisional
    assert schedule.source == "test notice"
    assert len(schedule.holidays) == 3 + 10
    assert schedule.makeup_workdays == {date(2027, 2, 20)}
    assert schedule.name_of(date(2027, 2, 9)) == "春节"
    assert schedule.name_of(date(2027, 2, 20)) == "春节调休上班"


def test_example_2027_loads(example_2027: Path) -> None:
    schedule = load_schedule_file(example_2027)
    assert schedule.year == 2027
    assert "EXAMPLE" in schedule.source
    assert len(schedule.makeup_workdays) == 5


def _replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


JAN = "start = 2027-01-01\nend = 2027-01-03"
MAKEUP = "date = 2027-02-20"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(_replace("year = 2027\n", ""), [("year", "required")], id="year-missing"),
        pytest.param(_replace("year = 2027", 'year = "2027"'), [("year", "type")], id="year-text"),
        pytest.param(
            _replace("year = 2027", "year = 1900"), [("year", "year_range")], id="year-range"
        ),
        pytest.param(
            _replace('source = "test notice"\n', ""), [("source", "required")], id="no-source"
        ),
        pytest.param(
            _replace('source = "test notice"', 'source = "  "'),
            [("source", "required")],
            id="blank-source",
        ),
        pytest.param(
            _replace("year = 2027\n", "year = 2027\nnotes = 1\n"),
            [("notes", "unknown_field")],
            id="unknown-top",
        ),
        pytest.param('year = 2027\nsource = "x"\n', [("holidays", "required")], id="no-holidays"),
        pytest.param(
            _replace('name = "元旦"\n', ""), [("holidays.0.name", "required")], id="no-name"
        ),
        pytest.param(
            _replace(JAN, "start = 2027-01-01\nend = 2028-01-03"),
            [("holidays.0.end", "year_mismatch")],
            id="other-year",
        ),
        pytest.param(
            _replace(JAN, "start = 2027-01-01T00:00:00\nend = 2027-01-03"),
            [("holidays.0.start", "type")],
            id="datetime-not-date",
        ),
        pytest.param(
            _replace(JAN, 'start = "2027-01-01"\nend = 2027-01-03'),
            [("holidays.0.start", "type")],
            id="string-not-date",
        ),
        pytest.param(
            _replace(JAN, "start = 2027-01-01"), [("holidays.0.end", "required")], id="no-end"
        ),
        pytest.param(
            _replace(JAN, "start = 2027-01-03\nend = 2027-01-01"),
            [("holidays.0.end", "range_order")],
            id="end-before-start",
        ),
        pytest.param(
            _replace(JAN, "start = 2027-01-01\nend = 2027-01-31"),
            [("holidays.0", "range_length")],
            id="too-long",
        ),
        pytest.param(
            _replace(JAN, "start = 2027-03-01\nend = 2027-03-03"),
            [("holidays.1.start", "order")],
            id="not-in-order",
        ),
        pytest.param(
            _replace(JAN, "start = 2027-02-01\nend = 2027-02-05"),
            [("holidays.1.start", "overlap")],
            id="overlap",
        ),
        pytest.param(
            _replace(JAN, JAN + "\nnote = 'x'"),
            [("holidays.0.note", "unknown_field")],
            id="unknown-in-range",
        ),
        pytest.param(
            _replace(MAKEUP, "date = 2027-02-19"),
            [("makeup_workdays.0.date", "not_weekend")],
            id="makeup-weekday",
        ),
        pytest.param(
            _replace(MAKEUP, "date = 2027-02-13"),
            [("makeup_workdays.0.date", "inside_holiday")],
            id="makeup-in-holiday",
        ),
        pytest.param(
            _replace(MAKEUP, "date = 2026-02-21"),
            [("makeup_workdays.0.date", "year_mismatch")],
            id="makeup-other-year",
        ),
        pytest.param(
            VALID + '\n[[makeup_workdays]]\ndate = 2027-02-20\nholiday = "春节"\n',
            [("makeup_workdays.1.date", "duplicate")],
            id="makeup-duplicate",
        ),
        pytest.param(
            _replace('holiday = "春节"', 'holiday = "除夕"'),
            [("makeup_workdays.0.holiday", "unknown_holiday")],
            id="makeup-unknown-holiday",
        ),
        pytest.param(
            _replace('holiday = "春节"\n', ""),
            [("makeup_workdays.0.holiday", "required")],
            id="makeup-no-holiday",
        ),
        pytest.param(
            VALID.replace("[[makeup_workdays]]", "[makeup_workdays]"),
            [("makeup_workdays", "type")],
            id="makeup-not-array",
        ),
        pytest.param("year = = 2027\n", [("", "toml_syntax")], id="toml-syntax"),
    ],
)
def test_rule_violations(tmp_path: Path, text: str, expected: list[tuple[str, str]]) -> None:
    assert _errors(tmp_path, text) == expected


def test_makeup_as_plain_dates_is_rejected(tmp_path: Path) -> None:
    # A top-level array must come before the first table, hence the reordering.
    text = (
        'year = 2027\nsource = "x"\nmakeup_workdays = [2027-02-20]\n'
        + VALID.split('source = "test notice"\n', 1)[1].split("[[makeup_workdays]]")[0]
    )
    assert _errors(tmp_path, text) == [("makeup_workdays.0", "type")]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = _replace("year = 2027", "year = 1900").replace("date = 2027-02-20", "date = 2027-02-19")
    rules = {rule for _, rule in _errors(tmp_path, text)}
    assert {"year_range", "not_weekend"} <= rules


def test_errors_never_echo_values(tmp_path: Path) -> None:
    with pytest.raises(CalendarDataError) as info:
        load_schedule_file(_write(tmp_path, _replace('source = "test notice"', "source = 7")))
    assert problem_of(info.value)["status"] == 422
    assert all("7" not in e.message for e in info.value.errors)


def test_store_copies_bytes_under_year_name(tmp_path: Path, example_2027: Path) -> None:
    schedule, stored = store_schedule_file(example_2027, tmp_path / "calendar")
    assert stored == tmp_path / "calendar" / "2027.toml"
    assert stored.read_bytes() == example_2027.read_bytes()
    assert load_stored_schedules(tmp_path / "calendar") == {2027: schedule}


def test_store_refuses_invalid_file(tmp_path: Path) -> None:
    bad = _write(tmp_path, _replace("date = 2027-02-20", "date = 2027-02-19"))
    with pytest.raises(CalendarDataError):
        store_schedule_file(bad, tmp_path / "calendar")
    assert not (tmp_path / "calendar" / "2027.toml").exists()


def test_misnamed_stored_file_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, VALID, "2026.toml")
    with pytest.raises(CalendarDataError) as info:
        load_stored_schedules(tmp_path)
    assert [(e.field, e.rule) for e in info.value.errors] == [("year", "file_name")]


def test_no_stored_directory_means_no_schedules(tmp_path: Path) -> None:
    assert load_stored_schedules(tmp_path / "missing") == {}
