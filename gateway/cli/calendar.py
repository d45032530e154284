"""`gateway calendar …`: deadlines, loading a year's official schedule, showing a year."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.errors import CalendarDataError
from gateway.calendar.schedule import MAX_YEAR, MIN_YEAR
from gateway.calendar.service import install_schedule_file
from gateway.calendar.windows import Window
from gateway.cli.common import references
from message_schemas.timezone import SHANGHAI

app = typer.Typer(
    help="工作日与办理期限 / Working days and deadlines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_WEEKDAYS = "一二三四五六日"
DEFAULT_WORKING_DAYS = 5


def _available_date(text: str) -> date:
    """An ISO date is taken as the local date; a datetime needs an offset (then → Shanghai)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            "须为 ISO 日期或带时区的时间 / must be an ISO date (2025-09-30) "
            "or a datetime with offset (2025-09-30T09:00:00+08:00)",
            param_hint="DATE",
        ) from None
    if moment.utcoffset() is None:
        raise typer.BadParameter(
            "时间须带时区 / a datetime needs an offset such as +08:00", param_hint="DATE"
        )
    return moment.astimezone(SHANGHAI).date()


def _clock() -> WorkingDayClock:
    try:
        return references().current().clock
    except CalendarDataError as exc:
        typer.echo(f"已存放假安排文件无效 / a stored schedule file is invalid: {exc}", err=True)
        typer.echo(_errors_json(exc), err=True)
        raise typer.Exit(1) from None


def _errors_json(exc: CalendarDataError) -> str:
    return json.dumps([e.as_dict() for e in exc.errors], ensure_ascii=False, indent=2)


@app.command(help="计算办理期限 / Compute the due date (default: 5 working days).")
def due(
    available: Annotated[
        str,
        typer.Argument(
            metavar="DATE",
            help="可办理的日期（ISO，或带时区的时间）/ Date available (ISO date or datetime "
            "with offset).",
            show_default=False,
        ),
    ],
    working_days: Annotated[
        int | None,
        typer.Option("--working-days", min=1, help="工作日数（默认 5）/ Working days (default 5)."),
    ] = None,
    calendar_days: Annotated[
        int | None,
        typer.Option("--calendar-days", min=1, help="自然日数 / Calendar days."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / Print JSON.")] = False,
) -> None:
    if working_days is not None and calendar_days is not None:
        raise typer.BadParameter(
            "只能选一种期限 / give either --working-days or --calendar-days, not both"
        )
    start = _available_date(available)
    if calendar_days is not None:
        window = Window(calendar_days, "calendar_days")
    else:
        window = Window(working_days or DEFAULT_WORKING_DAYS, "working_days")
    clock = _clock()
    try:
        deadline = clock.due_after(start, window)
    except ValueError as exc:  # a year outside the supported range
        raise typer.BadParameter(str(exc), param_hint="DATE") from None
    if as_json:
        body = {
            "available_date": start.isoformat(),
            "due_at": deadline.due_at.isoformat(timespec="milliseconds"),
            "due_date": deadline.due_date.isoformat(),
            window.unit: window.amount,
            "provisional": deadline.provisional,
        }
        typer.echo(json.dumps(body, ensure_ascii=False))
    else:
        suffix = " provisional" if deadline.provisional else ""
        typer.echo(f"{deadline.due_date.isoformat()}{suffix}")
    if deadline.provisional:
        passed = clock.provisional_years(start + timedelta(days=1), deadline.due_date)
        years = ", ".join(str(y) for y in passed)
        typer.echo(
            f"提示：{years} 年的国务院放假安排尚未载入，期限为临时计算。"
            f"Hint: the official schedule for {years} is not loaded; the deadline is "
            "provisional (`gateway calendar load FILE`).",
            err=True,
        )


@app.command(help="校验并载入某年放假安排文件 / Validate and store a year's schedule file.")
def load(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="放假安排 TOML 文件 / Schedule TOML file (docs/calendar.md).",
        ),
    ],
) -> None:
    try:
        source = references()
        assert source.calendar_dir is not None  # a configured data directory
        schedule, stored = install_schedule_file(file, source.calendar_dir)
    except CalendarDataError as exc:
        typer.echo(_errors_json(exc))
        raise typer.Exit(1) from None
    typer.echo(
        f"已载入 {schedule.year} 年放假安排 / Loaded {schedule.year}: "
        f"{len(schedule.holidays)} holiday dates, "
        f"{len(schedule.makeup_workdays)} make-up working days"
    )
    typer.echo(f"来源 / source: {schedule.source}")
    typer.echo(f"保存至 / stored at: {stored}")
    _recount_open_deadlines()


@app.command(
    help="按现行日历重算未结事项的临时期限 / Recount open provisional deadlines "
    "(after upgrading the holiday data)."
)
def recount() -> None:
    _recount_open_deadlines()


def _recount_open_deadlines() -> None:
    """Open obligations counted on a provisional calendar get their exact deadlines now."""
    from gateway.cli.common import runtime
    from gateway.messages.deadlines import recompute_provisional

    with runtime() as rt, rt.session() as session:
        count = recompute_provisional(session, rt.references.refresh(), rt.time.now())
        session.commit()
    typer.echo(f"重新计算期限 / deadlines recounted: {count}")


@app.command(help="显示某年的非工作日与调休上班日 / Show a year's days off and make-up days.")
def show(
    year: Annotated[
        int,
        typer.Argument(min=MIN_YEAR, max=MAX_YEAR, metavar="YEAR", help="年度 / Year."),
    ],
) -> None:
    schedule = _clock().schedule(year)
    status = (
        "provisional（临时：未载入国务院通知 / official notice not loaded）"
        if schedule.provisional
        else "exact（正式 / official）"
    )
    typer.echo(f"{year} 年放假安排 / Schedule for {year}")
    typer.echo(f"来源 / source: {schedule.source}")
    typer.echo(f"状态 / status: {status}")
    off = sorted(d for d in schedule.holidays if d.weekday() < 5)
    typer.echo(f"非工作的周一至周五 / Non-working weekdays ({len(off)}):")
    for d in off:
        typer.echo(f"  {d.isoformat()} 周{_WEEKDAYS[d.weekday()]} {schedule.name_of(d)}")
    makeup = sorted(schedule.makeup_workdays)
    typer.echo(f"调休上班日 / Make-up working days ({len(makeup)}):")
    for d in makeup:
        typer.echo(f"  {d.isoformat()} 周{_WEEKDAYS[d.weekday()]} {schedule.name_of(d)}")
