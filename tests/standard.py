"""The standard bound to the packaged division tables, for tests that validate messages the
way the gateway does (it passes the registry in force)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.divisions.registry import load_registry
from message_schemas import validate as _validate
from message_schemas.errors import FieldError
from message_schemas.v1.envelope import AnyMessage

REGISTRY = load_registry()  # packaged tables only


def validate_message(data: bytes | str | Mapping[str, Any]) -> AnyMessage:
    return _validate.validate_message(data, divisions=REGISTRY)


def message_errors(data: bytes | str | Mapping[str, Any]) -> list[FieldError]:
    return _validate.message_errors(data, divisions=REGISTRY)
