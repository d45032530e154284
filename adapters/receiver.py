"""The county's push endpoint (推送接收端): verify, validate, store once, then answer 2xx.

The gateway POSTs each message with Standard Webhooks headers (``webhook-id`` = message_id,
``webhook-timestamp``, ``webhook-signature`` = HMAC-SHA256 with the node's ``whsec_`` secret).
Answers: 200 ``{"stored": true|false}`` once the message is committed (false: already held —
the gateway may deliver twice); 401 signature missing, wrong or stale; 422 not a valid message
(problem+json naming field paths, never values); 503 the local store failed, so the gateway
keeps the message and retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.client.store import ClientStore
from message_schemas.validate import message_errors

log = logging.getLogger("adapters.receiver")

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM_BASE = "https://gateway.example/problems/"
# The standardwebhooks package rejects timestamps more than 5 minutes off on its own; a
# receiver may only narrow that window.
LIBRARY_TOLERANCE_S = 300
MAX_BODY = 1024 * 1024  # the gateway's own limit for one message


def _problem(status: int, slug: str, title: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _unauthorized() -> JSONResponse:
    return _problem(
        401, "signature-invalid", "Signature missing, invalid or stale / 签名缺失、无效或已过期"
    )


def _checked(
    body: bytes, signed_id: str, gateway_id: str | None
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The envelope if it is a valid message under the id that was signed; else the errors."""
    errors = [e.as_dict() for e in message_errors(body)]
    if errors:
        return None, errors
    envelope: dict[str, Any] = orjson.loads(body)
    if str(envelope["message_id"]) != signed_id or gateway_id not in (None, signed_id):
        return None, [
            {
                "field": "message_id",
                "rule": "message_id_mismatch",
                "message": "must equal webhook-id / 报文编号与签名头不一致",
            }
        ]
    return envelope, []


def create_receiver_app(
    store: ClientStore,
    secret: str,
    *,
    tolerance_s: int = LIBRARY_TOLERANCE_S,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """An ASGI app taking pushed messages at any path (``POST /``, ``POST /push`` …)."""
    if not 0 < tolerance_s <= LIBRARY_TOLERANCE_S:
        raise ValueError(f"tolerance_s must be in 1..{LIBRARY_TOLERANCE_S}")
    webhook = Webhook(secret)  # a malformed secret fails here, at start, not per request

    def verified(body: bytes, headers: dict[str, str]) -> bool:
        try:
            stamp = float(headers.get("webhook-timestamp", ""))
        except ValueError:
            return False
        if abs(clock() - stamp) > tolerance_s:
            return False
        try:
            webhook.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError):  # ValueError: malformed headers/base64
            return False
        return True

    def store_message(envelope: dict[str, Any]) -> bool:
        subject = envelope.get("subject") or {}
        return store.save(
            message_id=str(envelope["message_id"]),
            type=str(envelope["type"]),
            envelope=envelope,
            received_via="push",
            received_at=datetime.now(SHANGHAI),
            sender=str(envelope["sender"]),
            # A request without recipient was routed by its hukou code (PROTOCOL §2).
            recipient=envelope.get("recipient") or subject.get("hukou_code"),
            in_reply_to=envelope.get("in_reply_to"),
        )

    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not verified(body, headers):
            log.warning("push refused: bad signature", extra={"status": 401})
            return _unauthorized()
        message_id = headers["webhook-id"]
        if len(body) > MAX_BODY:
            return _problem(413, "body-too-large", "Body too large / 请求过大")
        envelope, errors = _checked(body, message_id, headers.get("gateway-message-id"))
        if envelope is None:
            log.warning("push refused: invalid", extra={"message_id": message_id, "status": 422})
            return _problem(
                422,
                "message-invalid",
                "Message does not conform to the standard / 报文不符合标准",
                errors=errors,
            )
        try:
            stored = await run_in_threadpool(store_message, envelope)
        except Exception as exc:  # any store failure: the gateway must keep and retry it
            log.error(
                "push not stored",
                extra={"message_id": message_id, "status": 503, "error": type(exc).__name__},
            )
            response = _problem(503, "store-failed", "Local store unavailable / 本地库暂不可用")
            response.headers["Retry-After"] = "30"
            return response
        log.info(
            "push stored",
            extra={
                "message_id": message_id,
                "delivery_id": headers.get("gateway-delivery-id"),
                "stored": stored,
            },
        )
        return JSONResponse({"stored": stored})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/{path:path}", receive, methods=["POST"]),
        ]
    )
