"""Response windows as configuration (办理期限): shipped windows.toml + operator override.

The operator's file is an argument (<data_dir>/windows.toml, given by the service)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from gateway.calendar.errors import CalendarDataError
from message_schemas.errors import FieldError

WindowUnit = Literal["working_days", "calendar_days"]
UNITS: tuple[str, ...] = get_args(WindowUnit)
SELECTORS = ("topic", "urgency")


@dataclass(frozen=True, slots=True)
class Window:
    """N working days, or N calendar days, after the local date something became available."""

    amount: int
    unit: WindowUnit = "working_days"

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError("a window is a whole number of days, at least 1")
        if self.unit not in UNITS:
            raise ValueError(f"window unit must be one of {', '.join(UNITS)}")


@dataclass(frozen=True, slots=True)
class KindRule:
    """The window(s) for one message kind: fixed, or chosen by a message field."""

    window: Window | None = None
    by: str | None = None
    default: str | None = None
    choices: Mapping[str, Window] = field(default_factory=dict)

    def pick(self, kind: str, selected: Mapping[str, str | None]) -> Window:
        for name, value in selected.items():
            if value is not None and name != self.by:
                raise ValueError(f"{kind} windows do not depend on {name}")
        if self.window is not None:
            return self.window
        assert self.by is not None  # parse_windows guarantees by for selector rules
        value = selected.get(self.by) or self.default
        if value is None or value not in self.choices:
            raise ValueError(f"no {kind} window for {self.by}={value!r}")
        return self.choices[value]


def parse_windows(data: Mapping[str, Any], origin: str) -> dict[str, KindRule]:
    """Validate a parsed windows.toml; CalendarDataError lists every problem."""
    errors: list[FieldError] = []
    rules: dict[str, KindRule] = {}
    for kind, spec in data.items():
        if not isinstance(spec, dict):
            errors.append(FieldError(kind, "type", "must be a table / 须为表"))
            continue
        rule = _parse_kind(kind, spec, errors)
        if rule is not None:
            rules[kind] = rule
    if errors:
        raise CalendarDataError(f"invalid windows file {origin}", errors=errors, file=origin)
    return rules


def _parse_kind(kind: str, spec: dict[str, Any], errors: list[FieldError]) -> KindRule | None:
    if "by" not in spec:
        window = _parse_window(kind, spec, errors)
        return None if window is None else KindRule(window=window)
    by, default = spec["by"], spec.get("default")
    if by not in SELECTORS:
        errors.append(FieldError(f"{kind}.by", "selector", f"must be one of {SELECTORS}"))
        return None
    choices: dict[str, Window] = {}
    for key, value in spec.items():
        if key in ("by", "default"):
            continue
        if not isinstance(value, dict):
            errors.append(FieldError(f"{kind}.{key}", "type", "must be a table / 须为表"))
            continue
        window = _parse_window(f"{kind}.{key}", value, errors)
        if window is not None:
            choices[key] = window
    if default is not None and (not isinstance(default, str) or default not in choices):
        errors.append(FieldError(f"{kind}.default", "unknown_choice", "names no window"))
    if not choices:
        errors.append(FieldError(kind, "required", "at least one window / 至少一个期限"))
    return KindRule(by=by, default=default, choices=choices)


def _parse_window(path: str, spec: dict[str, Any], errors: list[FieldError]) -> Window | None:
    units = [key for key in spec if key in UNITS]
    unknown = [key for key in spec if key not in UNITS]
    for key in unknown:
        errors.append(FieldError(f"{path}.{key}", "unknown_field", "unknown field / 未知字段"))
    if len(units) != 1:
        errors.append(FieldError(path, "one_unit", "exactly one of working_days, calendar_days"))
        return None
    amount = spec[units[0]]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        errors.append(FieldError(f"{path}.{units[0]}", "positive_int", "whole number ≥ 1"))
        return None
    unit: WindowUnit = "working_days" if units[0] == "working_days" else "calendar_days"
    return Window(amount, unit)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarDataError(
            f"windows file is not valid TOML: {exc}",
            errors=[FieldError("", "toml_syntax", str(exc))],
            file=str(path),
        ) from exc


def load_windows(override: Path | None = None) -> dict[str, KindRule]:
    """Shipped windows with an operator file's kinds replacing the shipped ones."""
    shipped = resources.files("gateway.calendar").joinpath("windows.toml")
    rules = parse_windows(tomllib.loads(shipped.read_text("utf-8")), "windows.toml")
    if override is not None and override.is_file():
        rules.update(parse_windows(_read(override), str(override)))
    return rules


class WindowTable:
    """The configured windows by message kind (windows.toml): which field of a message chooses
    among them is data too (``by``), so callers pass the value of that field, whatever it is."""

    def __init__(self, rules: Mapping[str, KindRule]) -> None:
        self._rules = dict(rules)

    def kinds(self) -> list[str]:
        return sorted(self._rules)

    def selector(self, kind: str) -> str | None:
        """The message field that chooses the window of ``kind`` (``topic``, ``urgency``)."""
        return self._rule(kind).by

    def window(self, kind: str, value: str | None = None) -> Window:
        """The window for a message of ``kind`` whose selecting field holds ``value`` (None:
        the default); a kind with one window ignores ``value``."""
        rule = self._rule(kind)
        if rule.by is None:
            return rule.pick(kind, {})
        return rule.pick(kind, {rule.by: value})

    def _rule(self, kind: str) -> KindRule:
        rule = self._rules.get(kind)
        if rule is None:
            raise ValueError(f"no window configured for kind {kind!r}")
        return rule


def load_window_table(override: Path | None = None) -> WindowTable:
    return WindowTable(load_windows(override))
