"""Request bodies that carry a list under one key (a batch of messages, raw records)."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import InvalidInput, PayloadTooLarge
from message_schemas.errors import FieldError


def listed(body: bytes, key: str, limit: int, *, objects: bool = False) -> list[Any]:
    """``body`` is ``{key: [...]}`` with at most ``limit`` items (all JSON objects when
    ``objects``); else 422 / 413 naming ``key``."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            "malformed JSON / JSON 格式错误",
            errors=[FieldError("$", "json_invalid", "malformed JSON / JSON 格式错误")],
        ) from None
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list) or (objects and not all(isinstance(i, dict) for i in items)):
        kind = "objects" if objects else "items"
        raise InvalidInput(
            f'the body is {{"{key}": [...]}} / 请求格式为 {{"{key}": [...]}}',
            errors=[FieldError(key, "list_type", f"must be a list of {kind} / 须为列表")],
        )
    if len(items) > limit:
        raise PayloadTooLarge(
            f"at most {limit} per request / 每次最多 {limit} 份",
            errors=[FieldError(key, "batch_too_large", f"{len(items)} > {limit}")],
        )
    return items
