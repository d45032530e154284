"""Reading a stored envelope back: open the sealed columns with the keyring, or, for a row
from before migration 0005 that is not sealed yet, take its plaintext column."""

from __future__ import annotations

from typing import Protocol

from gateway.errors import SealedDataUnreadable
from gateway.privacy.sealing import Sealed, Sealer


class StoredEnvelope(Protocol):
    """What every read of a message row that discloses it carries (Stored, InboxItem, the
    delivery's Claimed)."""

    @property
    def message_id(self) -> str: ...
    @property
    def envelope(self) -> str | None: ...
    @property
    def sealed_envelope(self) -> bytes | None: ...
    @property
    def data_key(self) -> bytes | None: ...
    @property
    def kek_id(self) -> str | None: ...


def open_envelope(sealer: Sealer, row: StoredEnvelope) -> bytes:
    if row.sealed_envelope is not None and row.data_key is not None and row.kek_id is not None:
        return sealer.open(row.message_id, Sealed(row.kek_id, row.data_key, row.sealed_envelope))
    if row.envelope is not None:
        return row.envelope.encode("utf-8")
    # its data key was deleted by retention (crypto-shredded): nothing left to read
    raise SealedDataUnreadable(
        "the message's personal data was purged / 报文个人信息已按保存期限删除",
        message_id=row.message_id,
    )
