"""Checking the gateway's signed receipts (PROTOCOL §8.7) on the county's side.

A receipt is a compact JWS (EdDSA over Ed25519) whose payload names the message, the SHA-256
of the RFC 8785 canonical JSON of the envelope the gateway accepted, and when it accepted it.
The county keeps each receipt beside the envelope it sent; this module checks, with nothing but
``cryptography``, that the signature holds under one of the gateway's published keys (JWKS) and
that the receipt is about exactly that envelope. It is the county's evidence that it sent on
time, the day a late-feedback figure is disputed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from message_schemas.canonical import canonical_sha256, without_nulls


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Checked:
    message_id: str
    ok: bool
    reason: str = ""  # why not, for people (Chinese / English)
    accepted_at: str | None = None


def envelope_sha256(envelope: Mapping[str, Any]) -> str:
    """SHA-256 of the envelope's canonical form, as the gateway stored it: without nulls."""
    return canonical_sha256(without_nulls(dict(envelope)))


def check(receipt: str, envelope: Mapping[str, Any], jwks: Mapping[str, Any]) -> Checked:
    """The receipt of ``envelope``, checked (signature, message id, content digest)."""
    return check_digest(
        receipt, str(envelope.get("message_id", "")), envelope_sha256(envelope), jwks
    )


def check_digest(receipt: str, message_id: str, sha256: str, jwks: Mapping[str, Any]) -> Checked:
    """The same check when only the envelope's canonical digest was kept (the importer)."""
    try:
        header_b64, payload_b64, signature_b64 = receipt.split(".")
        header = json.loads(_b64(header_b64))
        payload = json.loads(_b64(payload_b64))
        signature = _b64(signature_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Checked(message_id, False, "回执格式错误 / not a compact JWS")
    if header.get("alg") != "EdDSA":
        return Checked(message_id, False, "签名算法不是 EdDSA / alg is not EdDSA")
    key = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
    if key is None or key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        return Checked(message_id, False, "网关公钥中没有该密钥 / kid not in the JWKS")
    try:
        public = Ed25519PublicKey.from_public_bytes(_b64(str(key["x"])))
        public.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except (InvalidSignature, ValueError, binascii.Error):
        return Checked(message_id, False, "签名无效 / signature does not verify")
    if payload.get("message_id") != message_id:
        return Checked(message_id, False, "回执不是这份报文的 / receipt names another message")
    if payload.get("sha256") != sha256:
        return Checked(message_id, False, "报文内容与回执不符 / envelope differs from the receipt")
    return Checked(message_id, True, accepted_at=payload.get("accepted_at"))
