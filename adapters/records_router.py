"""``POST /api/v1/adapters/{profile}/records``: a county system pushes its own records (JSON
objects with its own, usually Chinese, keys); they are converted with the named mapping profile
exactly as ``gateway import`` converts a file, and the valid ones are submitted as the caller.

An optional service of the gateway (PROTOCOL §8.1), built here from the county formats and
mounted by the gateway's composition root (gateway/api/app.py), which passes in what belongs
to the gateway: who the caller is, how to submit messages, the division registry in force, the
limits, the OpenAPI entries and how errors become problem objects. Nothing of the gateway's
service is imported here.

Each record gets a result in order: the standard message it became and the gateway's answer,
or the problems that kept it from becoming one (row, column, field path and rule, never the
submitted value: these answers may end up in the caller's logs).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from adapters.convert import Converted, Converter, Rejected
from adapters.errors import AdapterError
from adapters.profiles import PROFILE_NAME, Profile, ProfileError, profile_by_name
from adapters.readers import ReaderError, iter_mappings
from adapters.report import RowIssue
from gateway.divisions.registry import DivisionRegistry
from message_schemas.errors import ExchangeError, FieldError, InvalidMessage


class Caller(Protocol):
    """The authenticated node calling (its code is the default sender)."""

    @property
    def code(self) -> str: ...


# Submit standard messages (JSON bytes) as the caller; one answer per message, in order:
# ``{"status": 202, …the gateway's 202 fields}`` or ``{"status": N, "problem": {…}}`` with the
# problem's field paths under the given path (``records.3``).
Submit = Callable[[Request, Any, Sequence[bytes], Sequence[str]], Awaitable[list[dict[str, Any]]]]


class RecordsRefused(AdapterError):
    """The request body is not ``{"records": [objects…]}``, or a record cannot be read."""

    kind = "invalid"
    title = "Invalid request / 请求无效"
    slug = "invalid-input"


class TooManyRecords(AdapterError):
    kind = "too_large"
    title = "Payload too large / 请求过大"
    slug = "payload-too-large"


@dataclass(frozen=True)
class RecordsService:
    caller: Callable[..., Any]  # a FastAPI dependency giving the authenticated node (Caller)
    submit: Submit
    registry: Callable[[], DivisionRegistry]  # the division tables in force
    max_items: int
    problem_of: Callable[[ExchangeError], dict[str, Any]]
    responses: dict[int | str, dict[str, Any]]
    openapi_extra: dict[str, Any]


def records_router(service: RecordsService) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["adapters"])

    @router.post(
        "/adapters/{profile}/records",
        summary="按映射配置提交本地原始记录 / Submit raw local records through a mapping profile",
        response_class=Response,
        responses=service.responses,
        openapi_extra=service.openapi_extra,
    )
    async def submit_records(
        profile: Annotated[
            str,
            Path(
                pattern=f"^{PROFILE_NAME.pattern}$",
                description="映射配置名称 / mapping profile name (an identifier)",
            ),
        ],
        request: Request,
        caller: Annotated[Any, Depends(service.caller)],
        sender: str | None = Query(
            default=None,
            description="发送方代码（默认本节点）/ sender code, default the node's own",
        ),
    ) -> Response:
        mapping = _profile(profile)
        records = _records(await request.body(), service.max_items)
        if not records:
            return _json({"accepted": 0, "rejected": 0, "results": []})
        converted = await run_in_threadpool(
            _convert, mapping, records, sender or caller.code, service.registry()
        )
        valid = [(i, c) for i, c in enumerate(converted) if isinstance(c, Converted)]
        answers = await service.submit(
            request, caller, [c.body for _, c in valid], [f"records.{i}" for i, _ in valid]
        )
        results: list[dict[str, Any]] = [{} for _ in converted]
        for (index, item), answer in zip(valid, answers, strict=True):
            results[index] = {
                "index": index,
                "message_id": item.message_id,
                "derived": [
                    {"field": d.field, "code": d.code, "level": d.level, "confidence": d.confidence}
                    for d in item.derived
                ],
                "warnings": [_issue_json(w, index) for w in item.warnings],
                **answer,
            }
        for index, outcome in enumerate(converted):
            if isinstance(outcome, Rejected):
                problem = service.problem_of(InvalidMessage([]))
                problem["detail"] = (
                    "the record does not make a valid message / 该记录无法转换为合格报文"
                )
                problem["errors"] = [_issue_json(i, index) for i in outcome.issues]
                results[index] = {
                    "index": index,
                    "message_id": outcome.message_id,
                    "status": 422,
                    "problem": problem,
                }
        accepted = sum(1 for r in results if r["status"] == 202)
        return _json(
            {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
        )

    return router


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _issue_json(issue: RowIssue, index: int) -> dict[str, Any]:
    field = f"records.{index}"
    return {
        "field": f"{field}.{issue.field}" if issue.field else field,
        "column": issue.column,
        "rule": issue.rule,
        "message": issue.message,
    }


def _profile(name: str) -> Profile:
    try:
        return profile_by_name(name)
    except ProfileError:
        raise ProfileError(
            "no mapping profile of that name / 没有该映射配置",
            errors=[FieldError("profile", "unknown_profile", "see docs/adapters.md / 见文档")],
        ) from None


def _records(body: bytes, limit: int) -> list[dict[str, Any]]:
    """``{"records": [objects…]}`` with at most ``limit`` records."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RecordsRefused(
            "malformed JSON / JSON 格式错误",
            errors=[FieldError("$", "json_invalid", "malformed JSON / JSON 格式错误")],
        ) from None
    items = doc.get("records") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise RecordsRefused(
            'the body is {"records": [...]} / 请求格式为 {"records": [...]}',
            errors=[FieldError("records", "list_type", "must be a list of objects / 须为列表")],
        )
    if len(items) > limit:
        raise TooManyRecords(
            f"at most {limit} per request / 每次最多 {limit} 条",
            errors=[FieldError("records", "batch_too_large", f"{len(items)} > {limit}")],
        )
    return items


def _convert(
    profile: Profile, records: list[dict[str, Any]], sender: str, registry: DivisionRegistry
) -> list[Converted | Rejected]:
    try:
        # row numbers count records from 1, as a clerk counts them
        rows = list(iter_mappings(records, first_number=1))
        headers = dict.fromkeys(key for row in rows for key in row.values)
        converter = Converter(profile, headers, sender=sender, registry=registry)
    except ReaderError as exc:
        raise RecordsRefused(
            str(exc), errors=[FieldError("records", "record_invalid", str(exc))]
        ) from None
    return [converter.convert(row) for row in rows]
