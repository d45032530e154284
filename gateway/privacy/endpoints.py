"""The privacy domain's HTTP edge: the public keys that verify receipts (PROTOCOL §8.7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api import schemas
from gateway.api.deps import RuntimeDep
from gateway.api.openapi import problems, success

router = APIRouter(tags=["receipts"])


@router.get(
    "/.well-known/jwks.json",
    summary="回执验签公钥 / Receipt verification keys (JWKS)",
    response_model=None,
    responses={**success(schemas.Jwks), **problems()},
)
def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    return runtime.receipts.jwks()
