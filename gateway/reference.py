"""The reference data in force in this process: division registry, working-day clock, windows.

Built from the packaged data and what an operator stored in the data directory
(``divisions/``, ``calendar/``, ``windows.toml``). Every process of a deployment (API, worker,
scheduler, CLI) shares the data directory, or a copy of it, and learns of a newly loaded table
or year the same way: ``ReferenceSource.current()`` compares the files' sizes and mtimes at most
every ``check_s`` seconds (one ``stat`` per file) and rebuilds only the part that changed. A
table loaded with `gateway divisions load` or a year with `gateway calendar load` therefore
counts everywhere within ``check_s`` (default 2 s), without a restart. The foundation itself
caches nothing that depends on a directory.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.service import load_clock
from gateway.calendar.windows import WindowTable, load_window_table
from gateway.divisions.registry import DivisionRegistry, load_registry, operator_files_key
from gateway.logs import get_logger
from message_schemas.errors import ExchangeError

log = get_logger("gateway.reference")

Stamp = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class Reference:
    registry: DivisionRegistry
    clock: WorkingDayClock
    windows: WindowTable
    # what each part was built from (file, size, mtime)
    divisions_stamp: Stamp
    calendar_stamp: Stamp
    windows_stamp: Stamp


def _stamp(paths: list[Path]) -> Stamp:
    out = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


class ReferenceSource:
    """The reference data of one data directory, rebuilt when its files change."""

    def __init__(self, data_dir: Path | None, *, check_s: float = 2.0) -> None:
        self.data_dir = data_dir
        self.check_s = check_s
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._current: Reference | None = None

    @property
    def divisions_dir(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "divisions"

    @property
    def calendar_dir(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "calendar"

    @property
    def windows_file(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "windows.toml"

    def _calendar_stamp(self) -> Stamp:
        directory = self.calendar_dir
        if directory is None or not directory.is_dir():
            return ()
        return _stamp(sorted(directory.glob("*.toml")))

    def _windows_stamp(self) -> Stamp:
        return () if self.windows_file is None else _stamp([self.windows_file])

    def current(self) -> Reference:
        """The data in force; the files are looked at again after ``check_s`` seconds."""
        now = time.monotonic()
        reference = self._current
        if reference is not None and now - self._checked_at < self.check_s:
            return reference
        with self._lock:
            if self._current is not None and now - self._checked_at < self.check_s:
                return self._current
            self._checked_at = time.monotonic()
            try:
                self._current = self._build(self._current)
            except ExchangeError as exc:
                if self._current is None:
                    raise
                # a file loaded in between that cannot be used: keep what is in force
                log.error(
                    "reference data not reloaded, keeping the data in force: %s",
                    type(exc).__name__,
                    context=exc.context,
                )
            return self._current

    def refresh(self) -> Reference:
        """Look at the files now (after this process loaded one itself)."""
        with self._lock:
            self._current = self._build(self._current)
            self._checked_at = time.monotonic()
            return self._current

    def _build(self, old: Reference | None) -> Reference:
        divisions = operator_files_key(self.divisions_dir)
        calendar = self._calendar_stamp()
        windows = self._windows_stamp()
        if old is None:
            return Reference(
                registry=load_registry(self.divisions_dir),
                clock=load_clock(self.calendar_dir),
                windows=load_window_table(self.windows_file),
                divisions_stamp=divisions,
                calendar_stamp=calendar,
                windows_stamp=windows,
            )
        new = old
        if divisions != old.divisions_stamp:
            new = replace(
                new, registry=load_registry(self.divisions_dir), divisions_stamp=divisions
            )
        if calendar != old.calendar_stamp:
            new = replace(new, clock=load_clock(self.calendar_dir), calendar_stamp=calendar)
        if windows != old.windows_stamp:
            new = replace(new, windows=load_window_table(self.windows_file), windows_stamp=windows)
        return new
