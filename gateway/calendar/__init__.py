"""The working-day clock (工作日时钟).

    from gateway.calendar import get_clock, window_for
    deadline = get_clock().due_at(available_at, window_for("query", topic="fertility"))

See docs/calendar.md for the rule, the sources and the schedule file format.
"""

from gateway.calendar.clock import SHANGHAI, Deadline, WorkingDate, WorkingDayClock
from gateway.calendar.schedule import ScheduleProvider, YearSchedule
from gateway.calendar.schedule_file import load_schedule_file
from gateway.calendar.service import get_clock, install_schedule_file, reset_clock_cache
from gateway.calendar.sources import default_schedule
from gateway.calendar.windows import Window, window_for

__all__ = [
    "SHANGHAI",
    "Deadline",
    "ScheduleProvider",
    "Window",
    "WorkingDate",
    "WorkingDayClock",
    "YearSchedule",
    "default_schedule",
    "get_clock",
    "install_schedule_file",
    "load_schedule_file",
    "reset_clock_cache",
    "window_for",
]
