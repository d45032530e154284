"""Operator-loaded schedule files: one year's State Council notice as TOML (docs/calendar.md).

    year = 2027
    source = "国办发明电〔2026〕NN号"
    [[holidays]]            # in date order, not overlapping
    name = "春节"
    start = 2027-02-05
    end = 2027-02-14
    [[makeup_workdays]]     # Saturdays/Sundays worked (调休上班)
    date = 2027-02-20
    holiday = "春节"

Validation collects every problem as a FieldError(field, rule, message) with 0-based list
indexes (``holidays.2.end``), like the rest of the standard, and raises CalendarDataError.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.calendar.errors import CalendarDataError
from gateway.calendar.schedule import MAX_YEAR, MIN_YEAR, YearSchedule
from message_schemas.errors import FieldError

MAX_RANGE_DAYS = 14  # longest official range so far: 10 days (2020); longer means a typo
_TOP_KEYS = {"year", "source", "holidays", "makeup_workdays"}
_RANGE_KEYS = {"name", "start", "end"}
_MAKEUP_KEYS = {"date", "holiday"}


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, rule: str, message: str) -> None:
        self.errors.append(FieldError(field, rule, message))

    def unknown(self, prefix: str, table: dict[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(table) - allowed):
            self.add(f"{prefix}{key}", "unknown_field", "unknown field / 未知字段")

    def text(self, table: dict[str, Any], key: str, path: str) -> str | None:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.add(path, "required", "non-empty text required / 须填写文字")
            return None
        return value.strip()

    def day(self, table: dict[str, Any], key: str, path: str, year: int | None) -> date | None:
        if key not in table:
            self.add(path, "required", "date required / 缺少日期")
            return None
        value = table[key]
        # tomllib gives datetime for 2027-01-01T00:00; only a bare local date is meant here.
        if not isinstance(value, date) or isinstance(value, datetime):
            self.add(path, "type", "must be a TOML date such as 2027-01-01 / 须为日期")
            return None
        if year is not None and value.year != year:
            self.add(path, "year_mismatch", f"date is not in {year} / 日期不在该年度")
            return None
        return value


def parse_schedule(data: dict[str, Any], origin: str) -> YearSchedule:
    """Validate a parsed schedule file; CalendarDataError lists every broken rule."""
    check = _Checker()
    check.unknown("", data, _TOP_KEYS)
    year = _year(data, check)
    source = check.text(data, "source", "source")
    ranges = _ranges(data, year, check)
    makeup = _makeup(data, year, ranges, check)
    if check.errors or year is None or source is None:
        raise CalendarDataError(
            f"invalid schedule file {origin}: {len(check.errors)} problem(s)",
            errors=check.errors,
            file=origin,
        )
    names: dict[date, str] = {}
    for name, start, end in ranges:
        for i in range((end - start).days + 1):
            names[start + timedelta(days=i)] = name
    holidays = frozenset(names)
    for d, holiday in makeup.items():
        names[d] = f"{holiday}调休上班"
    return YearSchedule(
        year=year,
        holidays=holidays,
        makeup_workdays=frozenset(makeup),
        source=source,
        provisional=False,
        names=names,
    )


def _year(data: dict[str, Any], check: _Checker) -> int | None:
    value = data.get("year")
    if value is None:
        check.add("year", "required", "year required / 缺少年度")
    elif isinstance(value, bool) or not isinstance(value, int):
        check.add("year", "type", "year must be a whole number / 年度须为整数")
    elif not MIN_YEAR <= value <= MAX_YEAR:
        check.add("year", "year_range", f"year must be {MIN_YEAR}–{MAX_YEAR}")
    else:
        return value
    return None


def _tables(data: dict[str, Any], key: str, check: _Checker) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key, [])
    if not isinstance(value, list):
        check.add(key, "type", f"use [[{key}]] tables / 须为表数组")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            check.add(f"{key}.{i}", "type", f"use [[{key}]] tables / 须为表数组")
    return out


def _ranges(
    data: dict[str, Any], year: int | None, check: _Checker
) -> list[tuple[str, date, date]]:
    items = _tables(data, "holidays", check)
    if "holidays" not in data or data["holidays"] == []:
        check.add("holidays", "required", "at least one holiday range / 至少一个放假区间")
    out: list[tuple[str, date, date]] = []
    for i, item in items:
        path = f"holidays.{i}"
        check.unknown(f"{path}.", item, _RANGE_KEYS)
        name = check.text(item, "name", f"{path}.name")
        start = check.day(item, "start", f"{path}.start", year)
        end = check.day(item, "end", f"{path}.end", year)
        if name is None or start is None or end is None:
            continue
        if end < start:
            check.add(f"{path}.end", "range_order", "end is before start / 结束早于开始")
            continue
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            check.add(path, "range_length", f"longer than {MAX_RANGE_DAYS} days / 区间过长")
            continue
        if out and start < out[-1][1]:
            check.add(f"{path}.start", "order", "list ranges in date order / 须按日期排列")
            continue
        if out and start <= out[-1][2]:
            check.add(f"{path}.start", "overlap", "overlaps the previous range / 与上一区间重叠")
            continue
        out.append((name, start, end))
    return out


def _makeup(
    data: dict[str, Any],
    year: int | None,
    ranges: list[tuple[str, date, date]],
    check: _Checker,
) -> dict[date, str]:
    out: dict[date, str] = {}
    # Names from every range, valid or not, so one broken range does not cascade.
    holidays = data.get("holidays")
    declared = holidays if isinstance(holidays, list) else []
    names = {h["name"].strip() for h in declared if isinstance(h, dict) and _is_text(h.get("name"))}
    for i, item in _tables(data, "makeup_workdays", check):
        path = f"makeup_workdays.{i}"
        check.unknown(f"{path}.", item, _MAKEUP_KEYS)
        holiday = check.text(item, "holiday", f"{path}.holiday")
        if holiday is not None and names and holiday not in names:
            check.add(f"{path}.holiday", "unknown_holiday", "names no holiday range / 无此节日")
        d = check.day(item, "date", f"{path}.date", year)
        if d is None:
            continue
        if d.weekday() < 5:
            check.add(f"{path}.date", "not_weekend", "must be a Saturday or Sunday / 须为周末")
        elif any(start <= d <= end for _, start, end in ranges):
            check.add(f"{path}.date", "inside_holiday", "falls in a holiday range / 在放假区间内")
        elif d in out:
            check.add(f"{path}.date", "duplicate", "listed twice / 重复")
        else:
            out[d] = holiday or ""
    return out


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def load_schedule_file(path: Path) -> YearSchedule:
    """Read and validate one schedule file (does not store it)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise CalendarDataError(
            f"cannot read schedule file: {exc.strerror}",
            errors=[FieldError("", "unreadable", "file cannot be read / 文件无法读取")],
            file=str(path),
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalendarDataError(
            f"schedule file is not valid TOML: {exc}",
            errors=[FieldError("", "toml_syntax", f"not valid TOML / 格式错误: {exc}")],
            file=str(path),
        ) from exc
    return parse_schedule(data, str(path))


def stored_path(directory: Path, year: int) -> Path:
    return directory / f"{year}.toml"


def store_schedule_file(path: Path, directory: Path) -> tuple[YearSchedule, Path]:
    """Validate ``path`` and copy it, byte for byte, to ``directory/<year>.toml``."""
    schedule = load_schedule_file(path)
    directory.mkdir(parents=True, exist_ok=True)
    target = stored_path(directory, schedule.year)
    tmp = target.with_suffix(".toml.tmp")
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, target)  # atomic: a reader never sees half a file
    return schedule, target


def load_stored_schedules(directory: Path) -> dict[int, YearSchedule]:
    """Every stored schedule; a broken or misnamed file is an error, never silently skipped."""
    out: dict[int, YearSchedule] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.toml")):
        schedule = load_schedule_file(path)
        if path.name != f"{schedule.year}.toml":
            raise CalendarDataError(
                f"stored schedule {path.name} holds year {schedule.year}",
                errors=[FieldError("year", "file_name", "file must be named <year>.toml")],
                file=str(path),
            )
        out[schedule.year] = schedule
    return out
