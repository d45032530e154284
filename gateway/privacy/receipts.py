"""Signed receipts (PROTOCOL §8.7): a compact JWS (RFC 7515, EdDSA over Ed25519) for every
accepted message, and the gateway's public keys as a JWKS (RFC 7517).

The payload is ``{"message_id", "sha256", "sender", "recipient", "accepted_at", "due_at"}``;
``sha256`` is the hex SHA-256 of the RFC 8785 canonical JSON of the envelope as accepted. The
receipt is made once, when the message is accepted, and stored with it: a duplicate submission
gets the very same receipt, whatever was rotated or recomputed since.

Signing keys live in a key file (gateway.privacy.keyfile: the 32-byte Ed25519 seeds); the last
key not retired signs, and every key of the file stays listed in the JWKS, so receipts signed
before a rotation still verify.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.privacy.keyset import KeySet
from message_schemas.timezone import SHANGHAI

ALGORITHM = "EdDSA"


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


def _instant(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment is not None else None


class ReceiptSigner:
    def __init__(self, keys: KeySet) -> None:
        self.keys = keys
        self._signers: dict[str, tuple[Ed25519PrivateKey, bytes]] = {}

    def _signer(self) -> tuple[Ed25519PrivateKey, bytes]:
        key = self.keys.active()
        found = self._signers.get(key.id)
        if found is None:
            header = orjson.dumps({"alg": ALGORITHM, "kid": key.id, "typ": "JWT"})
            found = (Ed25519PrivateKey.from_private_bytes(key.key), b64url(header).encode())
            self._signers[key.id] = found
        return found

    def sign(
        self,
        *,
        message_id: str,
        envelope: bytes,
        sender: str,
        recipient: str | None,
        accepted_at: datetime,
        due_at: datetime | None,
    ) -> str:
        payload = {
            "message_id": message_id,
            "sha256": envelope_sha256(envelope),
            "sender": sender,
            "recipient": recipient,
            "accepted_at": _instant(accepted_at),
            "due_at": _instant(due_at),
        }
        private, header = self._signer()
        signing_input = header + b"." + b64url(orjson.dumps(payload)).encode()
        return (signing_input + b"." + b64url(private.sign(signing_input)).encode()).decode()

    def jwks(self) -> dict[str, Any]:
        """Every key of the file, retired ones too (they verify older receipts)."""
        keys = []
        for key in self.keys.all():
            public = Ed25519PrivateKey.from_private_bytes(key.key).public_key()
            raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            keys.append(
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64url(raw),
                    "kid": key.id,
                    "alg": ALGORITHM,
                    "use": "sig",
                }
            )
        return {"keys": keys}
