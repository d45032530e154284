"""``POST /api/v1/adapters/{profile}/records``: a county system pushes its own records (JSON
objects with its own, usually Chinese, keys); the gateway converts them with the named mapping
profile exactly as ``gateway import`` would, and submits the valid ones as the calling node.

Each record gets a result in order: the standard message it became and the gateway's answer,
or the problems that kept it from becoming one (row, column, field path and rule, never the
submitted value: these answers may end up in the caller's logs).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from adapters.convert import Converted, Converter, ProfileMismatch, Rejected
from adapters.profiles import PROFILE_NAME, Profile, ProfileError, profile_by_name
from adapters.readers import ReaderError, iter_mappings
from adapters.report import RowIssue
from gateway.api import schemas
from gateway.api.bodies import listed
from gateway.api.deps import PrincipalDep, RuntimeDep, require_role
from gateway.api.openapi import list_body, problems, success
from gateway.errors import InvalidInput, MessageInvalid, UnknownProfile
from gateway.messages.endpoints import ingest
from message_schemas.errors import FieldError

router = APIRouter(prefix="/api/v1", tags=["adapters"])


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
        raise UnknownProfile(
            "no mapping profile of that name / 没有该映射配置",
            errors=[FieldError("profile", "unknown_profile", "see docs/adapters.md / 见文档")],
        ) from None


def _convert(
    profile: Profile, records: list[dict[str, Any]], sender: str
) -> list[Converted | Rejected]:
    try:
        # row numbers count records from 1, as a clerk counts them
        rows = list(iter_mappings(records, first_number=1))
        headers = dict.fromkeys(key for row in rows for key in row.values)
        converter = Converter(profile, headers, sender=sender)
    except ReaderError as exc:
        raise InvalidInput(
            str(exc), errors=[FieldError("records", "record_invalid", str(exc))]
        ) from None
    except ProfileMismatch as exc:
        raise InvalidInput(
            str(exc),
            errors=[
                FieldError("records", "column_missing", f"{'/'.join(aliases)} ({path})")
                for path, aliases in exc.missing
            ],
        ) from None
    return [converter.convert(row) for row in rows]


@router.post(
    "/adapters/{profile}/records",
    summary="按映射配置提交本地原始记录 / Submit raw local records through a mapping profile",
    response_class=Response,
    responses={
        **success(schemas.RecordsResult, 200, "逐条结果 / one result per record, in order"),
        **problems(401, 403, 404, 413),
    },
    openapi_extra=list_body(
        "records",
        "本地原始记录（列名→值）；最多1000条 / the county's own records (column → value); at "
        "most GATEWAY_MAX_BATCH_ITEMS (1,000), else 413",
        {"type": "object"},
    ),
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
    runtime: RuntimeDep,
    principal: PrincipalDep,
    sender: str | None = Query(
        default=None, description="发送方代码（默认本节点）/ sender code, default the node's own"
    ),
) -> Response:
    require_role(principal, "node")
    mapping = _profile(profile)
    records: list[dict[str, Any]] = listed(
        await request.body(), "records", runtime.settings.max_batch_items, objects=True
    )
    if not records:
        return Response(
            orjson.dumps({"accepted": 0, "rejected": 0, "results": []}),
            media_type="application/json",
        )
    converted = await run_in_threadpool(_convert, mapping, records, sender or principal.code)
    valid = [(i, c) for i, c in enumerate(converted) if isinstance(c, Converted)]
    answers = await ingest(request, runtime, principal, [c.body for _, c in valid])
    results: list[dict[str, Any]] = [{} for _ in converted]
    for (index, item), answer in zip(valid, answers, strict=True):
        out: dict[str, Any] = {"index": index, "message_id": item.message_id}
        out["derived"] = [
            {"field": d.field, "code": d.code, "level": d.level, "confidence": d.confidence}
            for d in item.derived
        ]
        out["warnings"] = [_issue_json(w, index) for w in item.warnings]
        if answer.accepted is not None:
            out.update(answer.accepted.as_dict(), status=202)
        else:
            assert answer.error is not None
            out["status"] = answer.error.status
            out["problem"] = answer.error.problem()
            out["problem"]["errors"] = [
                {**e.as_dict(), "field": f"records.{index}.{e.field}".removesuffix(".$")}
                for e in answer.error.errors
            ]
        results[index] = out
    for index, outcome in enumerate(converted):
        if isinstance(outcome, Rejected):
            problem = MessageInvalid(
                "the record does not make a valid message / 该记录无法转换为合格报文"
            ).problem()
            problem["errors"] = [_issue_json(i, index) for i in outcome.issues]
            results[index] = {
                "index": index,
                "message_id": outcome.message_id,
                "status": 422,
                "problem": problem,
            }
    accepted = sum(1 for r in results if r["status"] == 202)
    body = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
    return Response(orjson.dumps(body), media_type="application/json")
