"""Key files: a list of named keys in a small TOML file (0600), read and replaced atomically.

Both the key-encryption keys (``keyring.toml``) and the receipt signing keys
(``receipt-keys.toml``) live in files of this form::

    [[keys]]
    id = "kek-20261202-5f3a9c"
    created = "2026-12-02T01:04:16Z"
    key = "<url-safe base64 of 32 random bytes>"
    retired = false

The last key not retired is the active one. A file is never edited in place: a new version is
written beside it and renamed over it, so a reader sees the old file or the new, whole.
"""

from __future__ import annotations

import base64
import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.keys.files import FILE_MODE, create_exclusive, private_file

KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class NamedKey:
    id: str
    created: str
    key: bytes
    retired: bool = False


def new_key(prefix: str, now: datetime | None = None) -> NamedKey:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return NamedKey(
        id=f"{prefix}-{moment:%Y%m%d}-{secrets.token_hex(3)}",
        created=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        key=secrets.token_bytes(KEY_BYTES),
    )


def render(keys: list[NamedKey], header: str) -> bytes:
    lines = [header.rstrip("\n"), ""]
    for key in keys:
        encoded = base64.urlsafe_b64encode(key.key).decode("ascii")
        lines += [
            "[[keys]]",
            f'id = "{key.id}"',
            f'created = "{key.created}"',
            f'key = "{encoded}"',
            f"retired = {'true' if key.retired else 'false'}",
            "",
        ]
    return "\n".join(lines).encode("utf-8")


def read(path: Path) -> list[NamedKey]:
    """The keys of ``path``; ConfigurationError naming the file when it is unreadable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        keys = [
            NamedKey(
                id=str(entry["id"]),
                created=str(entry.get("created", "")),
                key=base64.urlsafe_b64decode(str(entry["key"])),
                retired=bool(entry.get("retired", False)),
            )
            for entry in data.get("keys", [])
        ]
    except FileNotFoundError as exc:
        raise ConfigurationError([f"{path} does not exist / 密钥文件不存在"]) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise ConfigurationError(
            [f"{path} unreadable ({type(exc).__name__}) / 密钥文件无法读取"]
        ) from exc
    short = [k.id for k in keys if len(k.key) != KEY_BYTES]
    if short:
        raise ConfigurationError(
            [f"{path}: key {', '.join(short)} is not {KEY_BYTES} bytes / 密钥长度不是 32 字节"]
        )
    if not [k for k in keys if not k.retired]:
        raise ConfigurationError([f"{path} holds no active key / 密钥文件中没有可用密钥"])
    return keys


def create(path: Path, keys: list[NamedKey], header: str) -> bool:
    """Write a new key file unless one exists (concurrent first starts write one)."""
    return create_exclusive(path, render(keys, header))


def replace(path: Path, keys: list[NamedKey], header: str) -> None:
    """Replace the key file atomically (temporary file, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(render(keys, header))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    private_file(path)


def stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_size, stat.st_mtime_ns)
