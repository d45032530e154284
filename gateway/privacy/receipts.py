"""Signed receipts (PROTOCOL §8.7): a compact JWS (RFC 7515, EdDSA over Ed25519) for every
accepted message, and the gateway's public keys as a JWKS (RFC 7517).

The payload is ``{"message_id", "sha256", "sender", "recipient", "accepted_at", "due_at"}``;
``sha256`` is the hex SHA-256 of the RFC 8785 canonical JSON of the envelope as accepted
(message_schemas.canonical). The receipt is made once, when the message is accepted, and stored with
it: a duplicate submission gets the very same receipt, whatever was rotated or recomputed since.
A batch's receipts are made by a helper process beside the rest of the work
(gateway.privacy.signing); a single message's here.

Signing keys live in a key file (gateway.privacy.keyfile: the 32-byte Ed25519 seeds); the last
key not retired signs, and every key of the file stays listed in the JWKS, so receipts signed
before a rotation still verify.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.privacy.jws import ALGORITHM, ReceiptFields, b64url, make_receipts
from gateway.privacy.keyset import KeySet
from gateway.privacy.signing import CHUNK, MIN_BATCH, SigningPool
from message_schemas.canonical import canonical_sha256
from message_schemas.timezone import SHANGHAI

SIGN_TIMEOUT_S = 30.0  # a helper that has not answered by then is given up on


def _instant(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment is not None else None


class ReceiptRef:
    """A receipt of a batch still being signed; ``value`` waits for it."""

    __slots__ = ("_batch", "_index")

    def __init__(self, batch: PendingReceipts, index: int) -> None:
        self._batch, self._index = batch, index

    @property
    def value(self) -> str:
        return self._batch.value(self._index)


Receipt = str | ReceiptRef | None


def receipt_text(receipt: Receipt) -> str | None:
    return receipt.value if isinstance(receipt, ReceiptRef) else receipt


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    seed: bytes


class PendingReceipts:
    """The receipts of one batch: their fields go to the helper process in chunks as they are
    made (gateway.privacy.signing), the receipts are collected when first needed. Anything the
    helper does not sign is signed here."""

    def __init__(self, key: SigningKey, pool: SigningPool) -> None:
        self.key = key  # one key for the whole batch, whatever a rotation does meanwhile
        self._pool = pool
        self._items: list[ReceiptFields] = []
        self._chunks: list[tuple[int, int, Future[list[str]] | None]] = []
        self._sent = 0
        self._done: list[str] | None = None
        self._lock = threading.Lock()

    def add(self, fields: ReceiptFields) -> ReceiptRef:
        self._items.append(fields)
        if len(self._items) - self._sent >= CHUNK:
            self.flush()
        return ReceiptRef(self, len(self._items) - 1)

    def flush(self) -> None:
        if self._sent < len(self._items):
            chunk = self._items[self._sent :]
            future = self._pool.submit(self.key.seed, self.key.kid, chunk)
            self._chunks.append((self._sent, len(self._items), future))
            self._sent = len(self._items)

    def value(self, index: int) -> str:
        if self._done is None:
            with self._lock:
                if self._done is None:
                    self._done = self._collect()
        return self._done[index]

    def _collect(self) -> list[str]:
        self.flush()
        done: list[str] = []
        for start, end, future in self._chunks:
            receipts = None
            if future is not None:
                try:
                    receipts = future.result(timeout=SIGN_TIMEOUT_S)
                except Exception as exc:  # the helper died or hung: sign here
                    self._pool.give_up(exc)
            if receipts is None:
                receipts = make_receipts(self.key.seed, self.key.kid, self._items[start:end])
            done += receipts
        return done


class ReceiptSigner:
    def __init__(self, keys: KeySet, pool: SigningPool | None = None) -> None:
        self.keys = keys
        self.pool = pool or SigningPool()

    def key(self) -> SigningKey:
        """The signing key in force now."""
        key = self.keys.active()
        return SigningKey(key.id, key.key)

    @staticmethod
    def fields(
        *,
        message_id: str,
        envelope: bytes,
        sender: str,
        recipient: str | None,
        accepted_at: datetime,
        due_at: datetime | None,
    ) -> ReceiptFields:
        return (
            message_id,
            canonical_sha256(envelope),
            sender,
            recipient,
            _instant(accepted_at),
            _instant(due_at),
        )

    def sign(self, **fields: Any) -> str:
        """One receipt, signed here."""
        key = self.key()
        return make_receipts(key.seed, key.kid, [self.fields(**fields)])[0]

    def batch(self, size: int) -> PendingReceipts | None:
        """Receipts for a batch of ``size`` to be signed by the helper; None when too small
        to be worth it (or there is no helper): then sign each with ``sign``."""
        if size < MIN_BATCH or not self.pool.enabled:
            return None
        return PendingReceipts(self.key(), self.pool)

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

    def close(self) -> None:
        self.pool.close()
