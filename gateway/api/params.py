"""Query-string rules every endpoint shares."""

from __future__ import annotations

from fastapi import Request

from gateway.errors import InvalidInput
from message_schemas.errors import FieldError


async def refuse_repeated_parameters(request: Request) -> None:
    """Every query parameter of the API is a single value: ``after=1&after=2`` is refused
    rather than silently read as one of them (which one differs between frameworks)."""
    params = request.query_params
    repeated = sorted({key for key in params if len(params.getlist(key)) > 1})
    if repeated:
        raise InvalidInput(
            "a query parameter is given more than once / 查询参数重复",
            errors=[
                FieldError(key, "parameter_repeated", "give it once / 只能出现一次")
                for key in repeated
            ],
        )
