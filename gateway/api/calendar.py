"""`GET /api/v1/calendar/due`: the deadline rule as a service."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.api import schemas
from gateway.api.deps import PrincipalDep, RuntimeDep
from gateway.api.openapi import problems, success
from gateway.calendar.errors import CalendarRangeError
from gateway.calendar.schedule import MAX_YEAR, MIN_YEAR
from gateway.calendar.windows import Window
from gateway.errors import InvalidInput
from message_schemas.errors import FieldError
from message_schemas.timezone import SHANGHAI

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


def _available(value: str) -> datetime:
    """A date (taken as noon, Asia/Shanghai) or an aware ISO datetime."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(12), SHANGHAI)
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            "available_at must be an ISO date or a datetime with offset "
            "/ 须为ISO日期或带时区的时间",
            errors=[FieldError("available_at", "datetime_format", "ISO date or aware datetime")],
        )
    return moment


@router.get(
    "/due",
    summary="计算办理期限 / Compute a due date",
    response_model=None,
    responses={**success(schemas.DueDate), **problems(401)},
)
def due(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    available_at: Annotated[str, Query(description="可取日期或时间 / date or aware datetime")],
    working_days: Annotated[
        int | None,
        Query(ge=1, le=365, description="默认：通报的办理期限 / default: the notification window"),
    ] = None,
    calendar_days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> dict[str, Any]:
    if working_days is not None and calendar_days is not None:
        raise InvalidInput(
            "give working_days or calendar_days, not both / 工作日与自然日只能选一",
            errors=[FieldError("calendar_days", "exclusive", "not together with working_days")],
        )
    if calendar_days is not None:
        window = Window(calendar_days, "calendar_days")
    elif working_days is not None:
        window = Window(working_days, "working_days")
    else:  # the notification's window, as configured (windows.toml)
        window = runtime.reference().windows.window("notification")
    moment = _available(available_at)
    try:
        deadline = runtime.reference().clock.due_at(moment, window)
    except CalendarRangeError:
        raise InvalidInput(
            f"available_at and its deadline must lie in {MIN_YEAR}–{MAX_YEAR} "
            f"/ 日期须在 {MIN_YEAR}–{MAX_YEAR} 年之间",
            errors=[
                FieldError("available_at", "calendar_range", f"years {MIN_YEAR}–{MAX_YEAR} only")
            ],
        ) from None
    return {
        "available_date": moment.astimezone(SHANGHAI).date().isoformat(),
        "window": {"amount": window.amount, "unit": window.unit},
        "due_at": deadline.due_at.isoformat(),
        "due_date": deadline.due_date.isoformat(),
        "provisional": deadline.provisional,
    }
