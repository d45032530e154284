"""The exchange standard (交换标准): versioned message models, code tables, JSON Schemas.

    from message_schemas import validate_message, InvalidMessage
    msg = validate_message(raw_json, divisions=registry)  # the division tables in force

The models are built from the catalogue data on first use, not on ``import message_schemas``:
importing ``message_schemas.errors`` or ``message_schemas.idnumber`` stays cheap. The standard
imports nothing of the gateway: the division tables are passed in at validation time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from message_schemas.errors import FieldError, InvalidMessage

if TYPE_CHECKING:
    from message_schemas.validate import message_errors, validate_message

SCHEMA_VERSION = "1.0"  # what this implementation writes (the client, the examples)
SCHEMA_VERSIONS = ("1.0",)  # what it accepts

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "FieldError",
    "InvalidMessage",
    "message_errors",
    "validate_message",
]


def __getattr__(name: str) -> Any:
    if name in ("message_errors", "validate_message"):
        from message_schemas import validate

        return getattr(validate, name)
    raise AttributeError(name)
