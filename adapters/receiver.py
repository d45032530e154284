"""The county's push endpoint (推送接收端): verify, validate, store once, then answer 2xx.

The gateway POSTs each message with Standard Webhooks headers (``webhook-id`` = message_id,
``webhook-timestamp``, ``webhook-signature`` = HMAC-SHA256 with the node's ``whsec_`` secret).
Answers: 200 ``{"stored": true|false}`` once the message is committed (false: already held —
the gateway may deliver twice); 401 signature missing, wrong or stale; 413 body over the cap;
422 not a valid message (problem+json naming field paths, never values); 503 the local store
failed, so the gateway keeps the message and retries.

Nothing is read before it has to be: the signature headers and the timestamp are checked, and
the declared ``Content-Length`` against the cap, before a byte of the body is read; the body is
then read as a stream and refused as soon as it passes the cap (chunked bodies too). A refusal
before the body is read closes the connection, so the rest of the body is never taken in.

Several secrets may be configured (a push-secret rotation: the gateway signs with the old and
the new secret during the overlap); a push verifies if any secret matches any of its ``v1``
signatures.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.client.store import ClientStore
from gateway.divisions.registry import load_registry
from gateway.logs import get_logger
from message_schemas.http import PROBLEM_JSON
from message_schemas.timezone import SHANGHAI
from message_schemas.validate import message_errors

log = get_logger("adapters.receiver")

PROBLEM_BASE = "https://gateway.example/problems/"
# Standard Webhooks' window (and the standardwebhooks package's): a receiver may only narrow it.
LIBRARY_TOLERANCE_S = 300
MAX_BODY = 1024 * 1024  # the gateway's own limit for one message
MAX_ID_LENGTH = 256  # a message id is a UUID; anything much longer is not one of ours
SIGNATURE_BYTES = 32  # HMAC-SHA256


def _problem(status: int, slug: str, title: str, **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _closing(response: Response) -> Response:
    """Refused before the body was read: close the connection rather than drain the rest."""
    response.headers["Connection"] = "close"
    return response


def _unauthorized() -> Response:
    return _closing(
        _problem(
            401,
            "signature-invalid",
            "Signature missing, invalid or stale / 签名缺失、无效或已过期",
        )
    )


def _too_large(limit: int) -> Response:
    return _closing(
        _problem(413, "body-too-large", "Body too large / 请求过大", max_body_bytes=limit)
    )


def _signatures(header: str) -> list[bytes]:
    """The well-formed ``v1`` signatures of a ``webhook-signature`` header (space-separated;
    other versions and malformed entries are ignored, as Standard Webhooks asks)."""
    found = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == SIGNATURE_BYTES:
            found.append(raw)
    return found


def _signed_headers(
    headers: dict[str, str], now: float, tolerance_s: int
) -> tuple[str, int, list[bytes]] | None:
    """(id, timestamp, signatures) when the headers are present, well formed and fresh."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = _signatures(headers.get("webhook-signature", ""))
    if not message_id or len(message_id) > MAX_ID_LENGTH or not message_id.isprintable():
        return None
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 or not signatures:
        return None
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        return None
    return message_id, timestamp, signatures


def _checked(
    body: bytes, signed_id: str, gateway_id: str | None
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The envelope if it is a valid message under the id that was signed; else the errors."""
    errors = [e.as_dict() for e in message_errors(body, divisions=load_registry())]
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
    secret: str | Sequence[str],
    *,
    tolerance_s: int = LIBRARY_TOLERANCE_S,
    max_body_bytes: int = MAX_BODY,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """An ASGI app taking pushed messages at any path (``POST /``, ``POST /push`` …).

    ``secret``: the node's ``whsec_…`` push secret, or several (during a rotation: a push
    verifies under any of them). ``max_body_bytes``: larger bodies are refused with 413.
    """
    if not 0 < tolerance_s <= LIBRARY_TOLERANCE_S:
        raise ValueError(f"tolerance_s must be in 1..{LIBRARY_TOLERANCE_S}")
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    configured = [secret] if isinstance(secret, str) else list(secret)
    if not configured:
        raise ValueError("at least one push secret is needed")
    # A malformed secret fails here, at start, not per request.
    hooks = [Webhook(s) for s in dict.fromkeys(configured)]

    def verified(message_id: str, timestamp: int, signatures: list[bytes], body: bytes) -> bool:
        try:
            data = body.decode("utf-8")  # what was signed is the body as text (Standard Webhooks)
        except UnicodeDecodeError:
            return False
        moment = datetime.fromtimestamp(timestamp, UTC)
        for hook in hooks:
            expected = base64.b64decode(hook.sign(message_id, moment, data).partition(",")[2])
            # compare_digest per candidate: no early exit on a partial match
            if any(hmac.compare_digest(expected, given) for given in signatures):
                return True
        return False

    async def read_body(request: Request) -> bytes | None:
        """The body, or None as soon as it passes the cap."""
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > max_body_bytes:
                return None
        return bytes(received)

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
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = _signed_headers(headers, clock(), tolerance_s)
        if signed is None:
            log.warning("push refused: signature headers missing or stale", status=401)
            return _unauthorized()
        message_id, timestamp, signatures = signed
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body_bytes):
            log.warning("push refused: too large", message_id=message_id, status=413)
            return _too_large(max_body_bytes)
        try:
            body = await read_body(request)
        except ClientDisconnect:
            log.warning("push abandoned by the sender", message_id=message_id)
            return _closing(_problem(400, "body-incomplete", "Body incomplete / 请求不完整"))
        if body is None:
            log.warning("push refused: too large", message_id=message_id, status=413)
            return _too_large(max_body_bytes)
        if not verified(message_id, timestamp, signatures, body):
            log.warning("push refused: bad signature", status=401)
            return _unauthorized()
        envelope, errors = _checked(body, message_id, headers.get("gateway-message-id"))
        if envelope is None:
            log.warning("push refused: invalid", message_id=message_id, status=422)
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
                message_id=message_id,
                status=503,
                error=type(exc).__name__,
            )
            response = _problem(503, "store-failed", "Local store unavailable / 本地库暂不可用")
            response.headers["Retry-After"] = "30"
            return response
        log.info(
            "push stored",
            message_id=message_id,
            delivery_id=headers.get("gateway-delivery-id"),
            stored=stored,
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
