"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import TypeAdapter

from gateway import __version__
from gateway.api import health, problems
from gateway.api.limits import BodyLimit
from gateway.calendar import endpoints as calendar_endpoints
from gateway.messages import endpoints as message_endpoints
from gateway.messages.writer import GroupWriter
from gateway.runtime import Runtime
from message_schemas.v1.envelope import Message

DESCRIPTION = """
流动人口信息交换网关 — 现居住地与户籍地之间的通报、反馈、查询与协查。

Exchange gateway between residence and origin jurisdictions: notifications, feedback, queries
and assist requests, routed by division code, with working-day deadlines. Errors are RFC 9457
`application/problem+json` with an `errors` list of `{field, rule, message}`.
"""


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        writer = GroupWriter(runtime)
        writer.start()
        app.state.writer = writer
        try:
            yield
        finally:
            writer.stop()  # finishes what is queued: nothing accepted is dropped

    app = FastAPI(
        title="Exchange gateway / 流动人口信息交换网关",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(
        BodyLimit,
        default=runtime.settings.max_body_bytes,
        batch=runtime.settings.max_batch_body_bytes,
    )
    app.include_router(health.router)
    app.include_router(message_endpoints.router)
    app.include_router(calendar_endpoints.router)
    _publish_message_schema(app)
    return app


def _publish_message_schema(app: FastAPI) -> None:
    """Put the standard's Message schema into the OpenAPI document the endpoints reference."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        message = TypeAdapter(Message).json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(message.pop("$defs", {}))
        components["Message"] = message
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
