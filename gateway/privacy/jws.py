"""The receipt itself: payload, canonical digest and compact JWS (RFC 7515, EdDSA).

Pure functions, run in the gateway's process or in the signing helper process
(gateway.privacy.signing), which therefore does all of a receipt's work, not only the
signature: digest, payload, encoding.
"""

from __future__ import annotations

import base64

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"

# What one receipt says: message id, the SHA-256 of the envelope's canonical JSON (hex),
# sender, recipient, accepted_at and due_at (ISO 8601 with offset, or None). The digest is
# taken in the gateway's process: handing the helper 64 characters instead of the envelope
# made the hand-over cheaper than the digest (measured, docs/benchmarks.md).
ReceiptFields = tuple[str, str, str, str | None, str | None, str | None]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def header_of(kid: str) -> bytes:
    return b64url(orjson.dumps({"alg": ALGORITHM, "kid": kid, "typ": "JWT"})).encode()


def make_receipts(seed: bytes, kid: str, items: list[ReceiptFields]) -> list[str]:
    """The compact JWS receipt of each item, signed with the Ed25519 key of ``seed``."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    header = header_of(kid)
    out = []
    for message_id, sha256, sender, recipient, accepted_at, due_at in items:
        payload = {
            "message_id": message_id,
            "sha256": sha256,
            "sender": sender,
            "recipient": recipient,
            "accepted_at": accepted_at,
            "due_at": due_at,
        }
        signing_input = header + b"." + b64url(orjson.dumps(payload)).encode()
        out.append(f"{signing_input.decode()}.{b64url(key.sign(signing_input))}")
    return out
