"""Dependencies of the endpoints, as Annotated aliases (RuntimeDep, PrincipalDep)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from gateway.errors import Forbidden, Unauthenticated
from gateway.logs import get_logger
from gateway.nodes.service import Principal, authenticate_digest
from gateway.nodes.tokens import token_hash
from gateway.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _lookup(runtime: Runtime, digest: str) -> Principal | None:
    generation = runtime.tokens.generation  # a revocation meanwhile: do not cache the old row
    with runtime.session() as session:
        principal = authenticate_digest(session, digest)
    runtime.tokens.put(digest, principal, generation)
    return principal


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("bearer token required / 需要令牌 (Authorization: Bearer …)")
    digest = token_hash(token.strip())
    hit, principal = runtime.tokens.get(digest)
    if not hit:
        principal = await run_in_threadpool(_lookup, runtime, digest)
    if principal is None:
        log.warning("refused: unknown or revoked token")  # never the token itself
        raise Unauthenticated("unknown or revoked token / 令牌无效或已注销")
    structlog.contextvars.bind_contextvars(node=principal.code)
    return principal


log = get_logger("gateway.api")

PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        log.warning("refused: role may not do this", role=principal.role)
        raise Forbidden(
            f"role {principal.role} may not do this / 当前角色无权执行此操作",
            role=principal.role,
        )


def node_caller(principal: PrincipalDep) -> Principal:
    """A dependency: the authenticated caller, who must be a node (role ``node``)."""
    require_role(principal, "node")
    return principal
