"""Where a gateway's privacy keys come from, and the start-up check that they are the right ones.

Two key files (gateway.privacy.keyfile), each the same for every process of a deployment:
- the keyring of key-encryption keys, which wrap the per-message data keys;
- the receipt signing keys (Ed25519).
Development: ``<data_dir>/secrets/keyring.toml`` and ``receipt-keys.toml``, generated at the
first start. Production: the files named by ``GATEWAY_KEYRING_FILE`` and
``GATEWAY_RECEIPT_KEYS_FILE``, created once with `gateway keys init`; production never
generates a key by itself, so a lost or mislaid file stops the gateway instead of starting it
on a fresh, empty keyring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.keys.files import private_dir
from gateway.keys.store import SECRETS_DIR
from gateway.privacy import keyfile
from gateway.privacy.keyset import KeySet
from gateway.privacy.receipts import ReceiptSigner
from gateway.privacy.sealing import Sealer
from gateway.settings import Settings

KEYRING_FILE = "keyring.toml"
RECEIPT_KEYS_FILE = "receipt-keys.toml"
KEYRING_HEADER = (
    "# Key-encryption keys of the gateway: they unlock every stored message. Keep a copy in a\n"
    "# safe place; without it the stored messages cannot be read. docs/privacy.md\n"
    "# 网关密钥加密密钥：丢失后已存报文无法解密，请妥善备份。\n"
)
RECEIPT_HEADER = (
    "# Receipt signing keys of the gateway (Ed25519 seeds). docs/privacy.md\n"
    "# 网关回执签名私钥，请勿泄露。\n"
)
KEK_PREFIX = "kek"
RECEIPT_PREFIX = "rcpt"


@dataclass(frozen=True, slots=True)
class KeyPaths:
    keyring: Path
    receipts: Path
    generated: bool  # development's own files, created at the first start


def key_paths(settings: Settings) -> KeyPaths:
    """Where the key files are. Production without both settings never gets here:
    gateway.keys.resolve refuses it first, naming them."""
    production = settings.env == "production"
    base = settings.data_dir / SECRETS_DIR
    return KeyPaths(
        keyring=settings.keyring_file or base / KEYRING_FILE,
        receipts=settings.receipt_keys_file or base / RECEIPT_KEYS_FILE,
        generated=not production,
    )


def _files(paths: KeyPaths) -> tuple[tuple[Path, str, str], ...]:
    """Each key file with its key-id prefix and its header."""
    return (
        (paths.keyring, KEK_PREFIX, KEYRING_HEADER),
        (paths.receipts, RECEIPT_PREFIX, RECEIPT_HEADER),
    )


def init_files(paths: KeyPaths) -> list[Path]:
    """Create the key files that do not exist yet (`gateway keys init`); the ones written."""
    written = []
    for path, prefix, header in _files(paths):
        if not path.exists():
            private_dir(path.parent, enforce=True)
            if keyfile.create(path, [keyfile.new_key(prefix)], header):
                written.append(path)
    return written


def open_keys(settings: Settings) -> tuple[Sealer, ReceiptSigner]:
    paths = key_paths(settings)
    keyring, receipts = (
        KeySet.open_or_create(
            path,
            prefix=prefix,
            header=header,
            generate=paths.generated,
            check_s=settings.reference_check_s,
        )
        for path, prefix, header in _files(paths)
    )
    return Sealer(keyring), ReceiptSigner(receipts)
