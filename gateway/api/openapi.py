"""The OpenAPI document: every status an operation can answer, with its schema (PROTOCOL §8.9).

Errors are documented as ``application/problem+json`` with the Problem schema; FastAPI's own
422 (``HTTPValidationError``, application/json) never appears, since the problem handlers answer
every validation error. The standard's Message schema and the bearer scheme are added here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from gateway.api.schemas import Problem
from message_schemas.http import PROBLEM_JSON
from message_schemas.v1.envelope import Message

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# What each status means at this API (shown beside its schema)
_MEANING = {
    400: "请求格式错误 / malformed request",
    401: "缺少或无效令牌 / no or unknown bearer token",
    403: "无权执行 / not allowed for this node, role or code",
    404: "不存在 / not found",
    409: "冲突 / conflict (message_id reused, already answered)",
    413: "请求过大 / body or batch over its limit",
    422: "请求或报文无效（字段路径与规则）/ invalid request or message: field paths and rules",
    429: "请求过多 / too many requests",
    503: "暂不可用 / temporarily unavailable",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the problem statuses an operation can answer (422 always:
    any query parameter given twice is refused)."""
    return {
        status: {
            "description": _MEANING[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
        for status in sorted({*statuses, 422})
    }


def success(model: type[Any], status: int = 200, description: str = "OK") -> dict[int | str, Any]:
    return {status: {"model": model, "description": description}}


def list_body(key: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a body that is ``{key: [...]}`` (read by hand, not by FastAPI)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [key],
                        "properties": {
                            key: {"type": "array", "description": description, "items": items}
                        },
                    }
                }
            },
        }
    }


def install(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        message = TypeAdapter(Message).json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(message.pop("$defs", {}))
        schemas["Message"] = message
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "节点令牌 / node token (gwt_…), issued by `gateway node add`",
            }
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/api/"):
                for operation in operations.values():
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
