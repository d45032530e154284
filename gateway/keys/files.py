"""Private directories (0700) and files (0600), created atomically.

Imports nothing of the gateway: the settings module uses it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, enforce: bool = False) -> Path:
    """Create ``path`` (and missing parents) and make it 0700 when this call created it; with
    ``enforce`` make it 0700 whoever created it (a directory only the gateway uses)."""
    created = not path.is_dir()
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if created or enforce:
        # mkdir's mode passes through the umask, and a concurrent creator may have won
        with contextlib.suppress(PermissionError):
            path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Make an existing file 0600 (nothing when it does not exist)."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(FILE_MODE)


def touch_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; make it 0600 either way."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    os.close(fd)
    private_file(path)


def create_exclusive(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` (0600) only if ``path`` does not exist yet.

    Returns True when this call created it, False when it existed. Concurrent callers (threads
    or processes on one directory) end with exactly one of them having written it, and no
    reader ever sees it partly written: the content goes to a temporary file of our own
    (O_CREAT|O_EXCL, random name), which is then hard-linked to ``path`` — link() fails with
    EEXIST when another caller got there first, and is atomic.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, FILE_MODE)  # the umask may have narrowed it further; never widened
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        _sync_dir(path.parent)
        return True
    finally:
        temp.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    """Make the new directory entry durable (a crash after start must not lose the secret)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover  # platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover  # some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)
