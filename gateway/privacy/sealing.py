"""Envelope encryption of the stored messages (AES-256-GCM, ``cryptography``).

Each message gets its own random 256-bit data key; the envelope is encrypted with it, and the
data key is wrapped (encrypted) with the active key-encryption key of the keyring. Three
columns hold the result: ``sealed_envelope`` (format byte, nonce, ciphertext with its tag),
``data_key`` (nonce, wrapped key with its tag) and ``kek_id`` (which key wrapped it). Both
encryptions take the message id as associated data, so a ciphertext or a data key copied to
another row does not open there. Rotating the key-encryption key re-wraps the 60-byte data
keys and never touches the envelopes; deleting a data key makes its envelope unreadable for
good (crypto-shredding, gateway.privacy.retention).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError, SealedDataUnreadable
from gateway.privacy.keyset import KeySet

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_ENVELOPE_AAD = b"gateway/envelope/v1\x00"
_DATA_KEY_AAD = b"gateway/data-key/v1\x00"
_FRESH = DATA_KEY_BYTES + 2 * NONCE_BYTES  # a data key and two nonces per message
_FRESH_BLOCK = 1024  # messages served by one read of the kernel's random source
CANARY_ID = "canary"
CANARY_TEXT = b"gateway key canary / \xe5\xaf\x86\xe9\x92\xa5\xe6\xa0\xa1\xe9\xaa\x8c"


@dataclass(frozen=True, slots=True)
class Sealed:
    """What the database holds for one message's envelope."""

    kek_id: str
    data_key: bytes
    ciphertext: bytes


class Sealer:
    def __init__(self, keys: KeySet) -> None:
        self.keys = keys
        self._wrappers: dict[str, AESGCM] = {}
        self._random_lock = threading.Lock()
        self._random = b""
        self._random_at = 0

    def _wrapper(self, kek_id: str) -> AESGCM:
        wrapper = self._wrappers.get(kek_id)
        if wrapper is None:
            wrapper = self._wrappers[kek_id] = AESGCM(self.keys.get(kek_id).key)
        return wrapper

    def _fresh(self) -> bytes:
        """A data key and two nonces from the kernel's CSPRNG, taken from a block read for
        many messages at once: os.urandom lets go of the interpreter lock, and each time the
        process's other threads took it, the seal waited for it back (measured 11 µs a call
        inside ingest against 0.5 µs alone). Each byte is used once."""
        with self._random_lock:
            if self._random_at + _FRESH > len(self._random):
                self._random, self._random_at = os.urandom(_FRESH * _FRESH_BLOCK), 0
            start = self._random_at
            self._random_at += _FRESH
            return self._random[start : start + _FRESH]

    def seal(self, message_id: str, plaintext: bytes, kek_id: str | None = None) -> Sealed:
        """``plaintext`` under a new data key, wrapped by ``kek_id`` (the active key unless
        given)."""
        kek_id = kek_id or self.keys.active().id
        fresh = self._fresh()
        data_key = fresh[:DATA_KEY_BYTES]
        nonce = fresh[DATA_KEY_BYTES : DATA_KEY_BYTES + NONCE_BYTES]
        wrap_nonce = fresh[DATA_KEY_BYTES + NONCE_BYTES :]
        mid = message_id.encode()
        body = AESGCM(data_key).encrypt(nonce, plaintext, _ENVELOPE_AAD + mid)
        return Sealed(
            kek_id, self._wrap(kek_id, mid, data_key, wrap_nonce), FORMAT_V1 + nonce + body
        )

    def open(self, message_id: str, sealed: Sealed) -> bytes:
        mid = message_id.encode()
        blob = sealed.ciphertext
        if blob[:1] != FORMAT_V1:
            raise SealedDataUnreadable(
                "unknown sealed format / 未知的加密格式", message_id=message_id
            )
        data_key = self._unwrap(sealed.kek_id, mid, sealed.data_key, message_id)
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return AESGCM(data_key).decrypt(nonce, body, _ENVELOPE_AAD + mid)
        except InvalidTag:
            raise SealedDataUnreadable(
                "stored message does not decrypt / 报文密文校验失败", message_id=message_id
            ) from None

    def rewrap(self, message_id: str, kek_id: str, data_key: bytes) -> tuple[str, bytes]:
        """The data key wrapped again with the active key (the envelope is not touched)."""
        mid = message_id.encode()
        plain = self._unwrap(kek_id, mid, data_key, message_id)
        active = self.keys.active().id
        return active, self._wrap(active, mid, plain)

    def _wrap(self, kek_id: str, mid: bytes, data_key: bytes, nonce: bytes | None = None) -> bytes:
        nonce = nonce or os.urandom(NONCE_BYTES)
        return nonce + self._wrapper(kek_id).encrypt(nonce, data_key, _DATA_KEY_AAD + mid)

    def _unwrap(self, kek_id: str, mid: bytes, wrapped: bytes, message_id: str) -> bytes:
        try:
            return self._wrapper(kek_id).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _DATA_KEY_AAD + mid
            )
        except InvalidTag:
            raise SealedDataUnreadable(
                "data key does not unwrap / 数据密钥校验失败", message_id=message_id
            ) from None

    # -- the canary: proof at start that this keyring opens what the database holds ----------
    def canary(self, kek_id: str) -> Sealed:
        """A known text sealed under ``kek_id``."""
        return self.seal(f"{CANARY_ID}/{kek_id}", CANARY_TEXT, kek_id)

    def opens_canary(self, sealed: Sealed) -> bool:
        try:
            return self.open(f"{CANARY_ID}/{sealed.kek_id}", sealed) == CANARY_TEXT
        except GatewayError:  # unreadable, or a key the keyring does not hold
            return False
