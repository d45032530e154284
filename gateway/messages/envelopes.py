"""Reading a stored envelope back: open the sealed columns with the keyring, or, for a row
from before migration 0005 that is not sealed yet, take its plaintext column."""

from __future__ import annotations

from gateway.errors import SealedDataUnreadable
from gateway.privacy.sealing import Sealed, Sealer


def open_envelope(
    sealer: Sealer,
    message_id: str,
    *,
    envelope: str | None,
    sealed_envelope: bytes | None,
    data_key: bytes | None,
    kek_id: str | None,
) -> bytes:
    if sealed_envelope is not None and data_key is not None and kek_id is not None:
        return sealer.open(message_id, Sealed(kek_id, data_key, sealed_envelope))
    if envelope is not None:
        return envelope.encode("utf-8")
    # its data key was deleted by retention (crypto-shredded): nothing left to read
    raise SealedDataUnreadable(
        "the message's personal data was purged / 报文个人信息已按保存期限删除",
        message_id=message_id,
    )
