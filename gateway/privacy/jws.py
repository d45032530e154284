"""The receipt itself: payload, canonical digest and compact JWS (RFC 7515, EdDSA).

Pure functions, run in the gateway's process or in the signing helper process
(gateway.privacy.signing), which therefore does all of a receipt's work, not only the
signature: digest, payload, encoding.
"""

from __future__ import annotations

import base64
import hashlib

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


def canonical_json(envelope: bytes) -> bytes:
    """RFC 8785 (JCS) form of a stored envelope.

    orjson with sorted keys writes exactly the JCS form for the documents the standard admits:
    their keys are the models' ASCII field names (every model forbids extra keys), so sorting
    by UTF-8 bytes equals JCS's UTF-16 order, and they hold no floats (integers are StrictInt),
    where JCS's number form would differ. Strings are escaped alike (checked against the
    ``rfc8785`` package in tests/privacy/test_receipts.py)."""
    return orjson.dumps(orjson.loads(envelope), option=orjson.OPT_SORT_KEYS)


def envelope_sha256(envelope: bytes) -> str:
    return hashlib.sha256(canonical_json(envelope)).hexdigest()


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
