"""Bearer tokens: 256 random bits shown once; only their SHA-256 is stored.

A slow password hash buys nothing for a random 256-bit secret (it cannot be guessed), and a
plain digest lets every request find its node with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "gwt_"  # noqa: S105  # a public marker, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
