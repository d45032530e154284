"""The secret a node's receiver verifies pushes with (Standard Webhooks, docs/delivery.md).

Derived, never stored: HMAC-SHA256 of the node's row id and code under the gateway's
``push_signing_key``. A node revoked and added again is a new row, so it gets a new secret;
changing ``push_signing_key`` changes every node's secret at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105  # the Standard Webhooks marker, not a secret


def push_secret(signing_key: str, node_id: int, node_code: str) -> str:
    """``whsec_`` + base64 of HMAC-SHA256(signing_key, "push-signing:v1:{id}:{code}")."""
    digest = hmac.new(
        signing_key.encode("utf-8"),
        f"push-signing:v1:{node_id}:{node_code}".encode(),
        hashlib.sha256,
    ).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")
