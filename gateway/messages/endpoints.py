"""HTTP endpoints for messages and the inbox (PROTOCOL.md §6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from gateway.api import schemas
from gateway.api.bodies import listed
from gateway.api.deps import PrincipalDep, RuntimeDep, require_role
from gateway.api.openapi import list_body, problems, success
from gateway.delivery import repository as delivery_repo
from gateway.errors import Forbidden, GatewayError, MessageInvalid, NotFound
from gateway.messages import repository, service
from gateway.messages.pipeline import Submissions
from gateway.messages.service import ItemResult
from gateway.messages.views import iso, lifecycle_view
from gateway.nodes.service import Principal
from gateway.runtime import Runtime
from message_schemas.errors import FieldError

router = APIRouter(prefix="/api/v1", tags=["messages"])
MAX_SEQ = 2**63 - 1  # seq is a signed 64-bit column: a larger cursor cannot name a message


async def ingest(
    request: Request, principal: Principal, items: Sequence[bytes | MessageInvalid]
) -> list[ItemResult]:
    """Through the one way in (gateway/messages/pipeline.py), set up by the app factory."""
    submissions: Submissions = request.app.state.submissions
    return await submissions.submit(principal, items)


@router.post(
    "/messages",
    status_code=202,
    summary="提交一份报文 / Submit one message",
    response_class=Response,
    responses={
        **success(schemas.Accepted, 202, "已受理 / accepted (or accepted before: duplicate)"),
        **problems(401, 403, 409, 413),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}},
        }
    },
)
async def submit_one(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    require_role(principal, "node")
    body = await request.body()
    [result] = await ingest(request, principal, [body])
    if result.error is not None:
        raise result.error
    assert result.accepted is not None
    return JSONResponse(result.accepted.as_dict(), status_code=202)


def _batch_items(body: bytes, limit: int) -> list[bytes | MessageInvalid]:
    # Each item is validated exactly as a single submission would be (from JSON bytes). The
    # body parser allows 1,024 levels of nesting, the encoder 254: an item deeper than that is
    # refused alone (nothing in the standard nests more than five levels).
    items: list[bytes | MessageInvalid] = []
    for item in listed(body, "messages", limit):
        try:
            items.append(orjson.dumps(item))
        except orjson.JSONEncodeError:
            items.append(
                MessageInvalid(
                    "message invalid / 报文不合格",
                    errors=[FieldError("$", "json_too_deep", "nested too deeply / 嵌套层级过深")],
                )
            )
    return items


def item_answer(result: ItemResult, path: str) -> dict[str, Any]:
    """One item's answer in a list (a batch, the adapters' records): the 202 fields, or its
    status and problem with field paths under ``path`` (``messages.3``)."""
    if result.accepted is not None:
        return {**result.accepted.as_dict(), "status": 202}
    error: GatewayError | None = result.error
    assert error is not None
    problem = error.problem()
    problem["errors"] = [e.under(path).as_dict() for e in error.errors]
    return {"status": error.status, "problem": problem}


def _item_json(result: ItemResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "message_id": result.message_id,
        **item_answer(result, f"messages.{result.index}"),
    }


@router.post(
    "/messages/batch",
    summary="批量提交（≤1000份，逐份结果）/ Submit up to 1,000 messages, per-item results",
    response_class=Response,
    responses={
        **success(schemas.BatchResult, 200, "逐份结果 / one result per item, in order"),
        **problems(401, 403, 413),
    },
    openapi_extra=list_body(
        "messages",
        "每份为一份报文（Message），不合格者逐份报告；份数上限见配置（默认1000）/ each item a "
        "Message; invalid items are reported one by one, valid ones accepted; at most "
        "GATEWAY_MAX_BATCH_ITEMS (1,000) items, else 413",
        # any JSON value: each is judged alone (not an object: refused with rule dict_type)
        {"description": "Message"},
    ),
)
async def submit_batch(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    require_role(principal, "node")
    items = _batch_items(await request.body(), runtime.settings.max_batch_items)
    results = await ingest(request, principal, items)
    accepted = sum(1 for r in results if r.accepted is not None)
    body = {
        "accepted": accepted,
        "rejected": len(results) - accepted,
        "results": [_item_json(r) for r in results],
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _may_read(
    principal: Principal, sender: str, sender_node: str, node: str | None, recipient: str | None
) -> bool:
    """Admins read all; supervisors what was sent from or to codes under theirs; a node what
    it sent or what was routed to it."""
    if principal.role == "admin":
        return True
    if principal.role == "supervisor":
        return principal.covers(sender) or principal.covers(recipient)
    return principal.code in (sender_node, node)


def _status(runtime: Runtime, principal: Principal, message_id: str) -> dict[str, Any]:
    with runtime.session() as session:
        row = repository.get_message(session, message_id)
        if row is None:
            raise NotFound("no such message / 无此报文", message_id=message_id)
        if not _may_read(principal, row.sender, row.sender_node, row.node_code, row.recipient):
            raise Forbidden("not your message / 无权查看该报文", message_id=message_id)
        return lifecycle_view(
            row, runtime.time.now(), delivery_repo.attempts_of(session, message_id)
        )


@router.get(
    "/messages/{message_id}",
    summary="报文状态与全过程 / Message lifecycle",
    response_model=None,
    responses={**success(schemas.Lifecycle), **problems(401, 403, 404)},
)
async def message_status(
    message_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    return await run_in_threadpool(_status, runtime, principal, message_id)


def _inbox(runtime: Runtime, principal: Principal, after: int, limit: int) -> bytes:
    now = runtime.time.now()
    with runtime.writing() as session:
        collected = service.collect_inbox(
            session, runtime.sealer, principal.code, after, limit, now
        )
        session.commit()
    # The stored envelopes are already canonical JSON: splice them in, do not re-encode.
    parts = [
        b'{"seq":%d,"message_id":"%s","type":"%s","recipient":%s,"in_reply_to":%s,'
        b'"forwarded_from":%s,"available_at":%s,"due_at":%s,"due_provisional":%s,"envelope":%s}'
        % (
            item.seq,
            item.message_id.encode(),
            item.type.encode(),
            orjson.dumps(item.recipient),
            orjson.dumps(item.in_reply_to),
            orjson.dumps(item.forwarded_from),
            orjson.dumps(iso(item.available_at)),
            orjson.dumps(iso(item.due_at)),
            b"true" if item.due_provisional else b"false",
            envelope,
        )
        for item, envelope in ((c.item, c.envelope) for c in collected)
    ]
    next_after = collected[-1].item.seq if collected else after
    return b'{"messages":[%s],"next_after":%d}' % (b",".join(parts), next_after)


@router.get(
    "/inbox",
    summary="收件箱（未签收，先到先取）/ Inbox, oldest first",
    response_class=Response,
    responses={**success(schemas.Inbox), **problems(401, 403)},
)
async def inbox(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="游标 / cursor (next_after)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    require_role(principal, "node")
    body = await run_in_threadpool(_inbox, runtime, principal, after, limit)
    return Response(body, media_type="application/json")


def _ack(runtime: Runtime, principal: Principal, message_id: str) -> dict[str, Any]:
    now = runtime.time.now()
    with runtime.writing() as session:
        acknowledged_at = service.acknowledge(session, principal.code, message_id, now)
        session.commit()
    return {"message_id": message_id, "acknowledged_at": iso(acknowledged_at)}


@router.post(
    "/inbox/{message_id}/ack",
    summary="签收（幂等）/ Acknowledge (idempotent)",
    response_model=None,
    responses={**success(schemas.Acknowledged), **problems(401, 403, 404)},
)
async def ack(message_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    require_role(principal, "node")
    return await run_in_threadpool(_ack, runtime, principal, message_id)
