"""Response windows: shipped defaults and the operator override."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Final

import pytest

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.errors import CalendarDataError
from gateway.calendar.windows import Window, load_window_table

WD: Final = "working_days"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("notification", None, Window(5, WD)),
        ("notification", "birth", Window(5, WD)),  # one window: the category does not choose
        ("notification_submission", None, Window(5, WD)),
        ("query", "fertility", Window(5, WD)),
        ("query", "general", Window(10, WD)),
        ("query", None, Window(10, WD)),  # default topic: general
        ("assist_request", "normal", Window(10, WD)),
        ("assist_request", "urgent", Window(10, WD)),
        ("assist_request", None, Window(10, WD)),
    ],
)
def test_shipped_windows(kind: str, value: str | None, expected: Window) -> None:
    assert load_window_table().window(kind, value) == expected


def test_the_choosing_field_is_data() -> None:
    windows = load_window_table()
    assert (windows.selector("query"), windows.selector("assist_request")) == ("topic", "urgency")
    assert windows.selector("notification") is None


@pytest.mark.parametrize(
    ("kind", "value", "match"),
    [
        ("feedback", None, "no window configured"),
        ("query", "weather", "no query window"),
    ],
)
def test_bad_lookups(kind: str, value: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_window_table().window(kind, value)


def test_operator_override_replaces_a_kind(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "windows.toml").write_text(
        '[assist_request]\nby = "urgency"\ndefault = "normal"\n'
        "[assist_request.normal]\ncalendar_days = 30\n"
        "[assist_request.urgent]\ncalendar_days = 15\n",
        "utf-8",
    )
    windows = load_window_table(data_dir / "windows.toml")
    assert windows.window("assist_request", "urgent") == Window(15, "calendar_days")
    assert windows.window("assist_request") == Window(30, "calendar_days")
    assert windows.window("query", "fertility") == Window(5, WD)  # untouched kinds stay


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[notification]\nworking_days = 0\n", [("notification.working_days", "positive_int")]),
        ("[notification]\nworking_days = 5\ncalendar_days = 5\n", [("notification", "one_unit")]),
        (
            "[notification]\ndays = 5\n",
            [("notification.days", "unknown_field"), ("notification", "one_unit")],
        ),
        ("notification = 5\n", [("notification", "type")]),
        ('[query]\nby = "colour"\n', [("query.by", "selector")]),
        (
            '[query]\nby = "topic"\ndefault = "x"\n[query.general]\nworking_days = 10\n',
            [("query.default", "unknown_choice")],
        ),
        ("[query\n", [("", "toml_syntax")]),
    ],
)
def test_invalid_override(data_dir: Path, text: str, expected: list[tuple[str, str]]) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "windows.toml").write_text(text, "utf-8")
    with pytest.raises(CalendarDataError) as info:
        load_window_table(data_dir / "windows.toml")
    assert [(e.field, e.rule) for e in info.value.errors] == expected


def test_window_validates_itself() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Window(0)
    with pytest.raises(ValueError, match="unit"):
        Window(5, "weeks")  # type: ignore[arg-type]  # the check under test is the runtime one


def test_notification_submission_rule() -> None:
    # A notification about an event on Tue 30 Sep 2025 is on time until the end of 14 Oct.
    window = load_window_table().window("notification_submission")
    deadline = WorkingDayClock().due_after(date(2025, 9, 30), window)
    assert deadline.due_date == date(2025, 10, 14)
