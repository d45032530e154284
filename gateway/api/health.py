"""Liveness and readiness (DB and Redis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.api import schemas
from gateway.api.deps import RuntimeDep
from gateway.api.openapi import problems, success
from gateway.runtime import Runtime

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz",
    summary="存活 / liveness",
    response_model=None,
    responses={**success(schemas.Health), **problems()},
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _checks(runtime: Runtime) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.redis is None:
        checks["redis"] = "not configured"
    else:
        try:
            runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    return checks


@router.get(
    "/readyz",
    summary="就绪（数据库与Redis）/ readiness: database and Redis",
    response_class=JSONResponse,
    responses={
        **success(schemas.Readiness),
        **problems(),
        503: {"model": schemas.Readiness, "description": "未就绪 / not ready: which check failed"},
    },
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await run_in_threadpool(_checks, runtime)
    ready = all(v in ("ok",) for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
