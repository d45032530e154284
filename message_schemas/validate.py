"""The one entry point: raw bytes, text or a decoded object → a valid message, or every error.

Structural validation runs in pydantic-core (one pass, from JSON bytes without an intermediate
dict); the cross-level rules then run on the model. Errors name the field path with the union
tags pydantic puts into locations removed: ``notification.body.birth.details.child_sex`` is
reported as ``body.details.child_sex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from message_schemas.errors import FieldError, InvalidMessage, dotted, from_validation_error
from message_schemas.kinds import MESSAGE_TYPES
from message_schemas.v1.envelope import AnyMessage, Message
from message_schemas.v1.notification import CATEGORIES
from message_schemas.v1.rules import check_rules
from message_schemas.v1.types import Divisions

MESSAGE_ADAPTER: TypeAdapter[AnyMessage] = TypeAdapter(Message)
_TYPE_TAGS = frozenset(MESSAGE_TYPES)
_CATEGORY_TAGS = frozenset(CATEGORIES)


def clean_loc(loc: tuple[int | str, ...], rule: str) -> str:
    """Field path from a pydantic location of the Message union (positions, not names)."""
    parts = list(loc)
    tagged = bool(parts) and parts[0] in _TYPE_TAGS
    if tagged:
        parts.pop(0)
    if len(parts) >= 2 and parts[0] == "body" and parts[1] in _CATEGORY_TAGS:
        del parts[1]
    if rule in ("union_tag_invalid", "union_tag_not_found"):
        # The tag itself is the offending field: `type` at the top, `category` in a body.
        parts.append("category" if tagged else "type")
    return dotted(parts)


def validate_message(data: bytes | str | Mapping[str, Any], *, divisions: Divisions) -> AnyMessage:
    """Validate one message of any type against the division tables ``divisions`` (the
    registry in force); raise InvalidMessage listing every violation."""
    context = {"divisions": divisions}
    try:
        if isinstance(data, bytes | str):
            msg = MESSAGE_ADAPTER.validate_json(data, context=context)
        else:
            msg = MESSAGE_ADAPTER.validate_python(data, context=context)
    except ValidationError as exc:
        raise InvalidMessage(from_validation_error(exc, clean_loc)) from None
    errors = check_rules(msg)
    if errors:
        raise InvalidMessage(errors)
    return msg


def message_errors(
    data: bytes | str | Mapping[str, Any], *, divisions: Divisions
) -> list[FieldError]:
    """Every violation in a message (empty when valid)."""
    try:
        validate_message(data, divisions=divisions)
    except InvalidMessage as exc:
        return exc.errors
    return []
