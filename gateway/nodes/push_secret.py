"""The secret a node's receiver verifies pushes with (Standard Webhooks, docs/delivery.md).

Derived, never stored: HMAC-SHA256 under the gateway's ``push_signing_key`` of the node's row
id, its code and its secret version. Version 0 (every node until its first rotation) is the
original derivation, ``push-signing:v1:{id}:{code}``, so receivers installed before rotations
existed keep working; ``gateway node rotate-push-secret`` moves a node to the next version,
``push-signing:v2:{id}:{code}:{version}``. A node revoked and added again is a new row, so it
gets a new secret; changing ``push_signing_key`` changes every node's secret at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105  # the Standard Webhooks marker, not a secret


def push_secret(signing_key: str, node_id: int, node_code: str, version: int = 0) -> str:
    """``whsec_`` + base64 of HMAC-SHA256(signing_key, the node's label for ``version``)."""
    if version < 0:
        raise ValueError("a push secret version is 0 or more")
    label = (
        f"push-signing:v1:{node_id}:{node_code}"
        if version == 0
        else f"push-signing:v2:{node_id}:{node_code}:{version}"
    )
    digest = hmac.new(signing_key.encode("utf-8"), label.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")
