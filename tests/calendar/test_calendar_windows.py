"""Response windows: shipped defaults and the operator override."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Final

import pytest

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.service import reset_clock_cache
from gateway.calendar.windows import Window, window_for
from gateway.errors import CalendarDataError

WD: Final = "working_days"


@pytest.mark.parametrize(
    ("kind", "selectors", "expected"),
    [
        ("notification", {}, Window(5, WD)),
        ("notification_submission", {}, Window(5, WD)),
        ("query", {"topic": "fertility"}, Window(5, WD)),
        ("query", {"topic": "general"}, Window(10, WD)),
        ("query", {}, Window(10, WD)),  # default topic: general
        ("assist_request", {"urgency": "normal"}, Window(10, WD)),
        ("assist_request", {"urgency": "urgent"}, Window(10, WD)),
        ("assist_request", {}, Window(10, WD)),
    ],
)
def test_shipped_windows(
    data_dir: Path, kind: str, selectors: dict[str, str], expected: Window
) -> None:
    assert window_for(kind, **selectors) == expected


@pytest.mark.parametrize(
    ("kind", "selectors", "match"),
    [
        ("feedback", {}, "no window configured"),
        ("query", {"topic": "weather"}, "no query window"),
        ("notification", {"urgency": "urgent"}, "do not depend on urgency"),
        ("query", {"urgency": "urgent"}, "do not depend on urgency"),
    ],
)
def test_bad_lookups(data_dir: Path, kind: str, selectors: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        window_for(kind, **selectors)


def test_operator_override_replaces_a_kind(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "windows.toml").write_text(
        '[assist_request]\nby = "urgency"\ndefault = "normal"\n'
        "[assist_request.normal]\ncalendar_days = 30\n"
        "[assist_request.urgent]\ncalendar_days = 15\n",
        "utf-8",
    )
    reset_clock_cache()
    assert window_for("assist_request", urgency="urgent") == Window(15, "calendar_days")
    assert window_for("assist_request") == Window(30, "calendar_days")
    assert window_for("query", topic="fertility") == Window(5, WD)  # untouched kinds stay


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
    reset_clock_cache()
    with pytest.raises(CalendarDataError) as info:
        window_for("notification")
    assert [(e.field, e.rule) for e in info.value.errors] == expected


def test_window_validates_itself() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Window(0)
    with pytest.raises(ValueError, match="unit"):
        Window(5, "weeks")  # type: ignore[arg-type]  # the check under test is the runtime one


def test_notification_submission_rule(data_dir: Path) -> None:
    # A notification about an event on Tue 30 Sep 2025 is on time until the end of 14 Oct.
    deadline = WorkingDayClock().due_after(date(2025, 9, 30), window_for("notification_submission"))
    assert deadline.due_date == date(2025, 10, 14)
