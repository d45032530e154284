"""The working-day clock (工作日时钟).

    clock = load_clock(data_dir / "calendar")
    windows = load_window_table(data_dir / "windows.toml")
    deadline = clock.due_at(available_at, windows.window("query", "fertility"))

See docs/calendar.md for the rule, the sources and the schedule file format. Nothing here reads
settings or serves HTTP: directories and files are arguments (the service decides them).
"""

from gateway.calendar.clock import Deadline, WorkingDate, WorkingDayClock
from gateway.calendar.errors import CalendarDataError, CalendarError, CalendarRangeError
from gateway.calendar.schedule import ScheduleProvider, YearSchedule
from gateway.calendar.schedule_file import load_schedule_file
from gateway.calendar.service import install_schedule_file, load_clock
from gateway.calendar.sources import default_schedule
from gateway.calendar.windows import Window, WindowTable, load_window_table
from message_schemas.timezone import SHANGHAI

__all__ = [
    "SHANGHAI",
    "CalendarDataError",
    "CalendarError",
    "CalendarRangeError",
    "Deadline",
    "ScheduleProvider",
    "Window",
    "WindowTable",
    "WorkingDate",
    "WorkingDayClock",
    "YearSchedule",
    "default_schedule",
    "install_schedule_file",
    "load_clock",
    "load_schedule_file",
    "load_window_table",
]
