"""A key file as seen by a running process: re-read when it changes, so a key added by
`gateway keys rotate` in another process counts here within ``check_s`` without a restart,
and a key id never seen before makes the process look at the file again at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.keys.files import private_dir
from gateway.privacy import keyfile
from gateway.privacy.keyfile import NamedKey


class KeySet:
    def __init__(self, path: Path, *, check_s: float = 2.0) -> None:
        self.path = path
        self.check_s = check_s
        self._lock = threading.Lock()
        self._keys: dict[str, NamedKey] = {}
        self._active: NamedKey | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._load()

    @classmethod
    def open_or_create(
        cls, path: Path, *, prefix: str, header: str, generate: bool, check_s: float = 2.0
    ) -> KeySet:
        """The key file at ``path``; with ``generate``, a new one with one key when there is
        none (development's first start). Without, a missing file is refused."""
        if generate and not path.exists():
            private_dir(path.parent, enforce=True)
            keyfile.create(path, [keyfile.new_key(prefix)], header)
        return cls(path, check_s=check_s)

    def _load(self) -> None:
        keys = keyfile.read(self.path)
        self._keys = {k.id: k for k in keys}
        self._active = [k for k in keys if not k.retired][-1]
        self._stamp = keyfile.stamp(self.path)
        self._checked = time.monotonic()

    def _refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._checked < self.check_s:
            return
        with self._lock:
            current = keyfile.stamp(self.path)
            if current != self._stamp:
                self._load()
            self._checked = time.monotonic()

    def active(self) -> NamedKey:
        self._refresh()
        assert self._active is not None
        return self._active

    def get(self, key_id: str) -> NamedKey:
        """The key named ``key_id``; ConfigurationError when the file does not hold it."""
        key = self._keys.get(key_id)
        if key is None:
            self._refresh(force=True)
            key = self._keys.get(key_id)
        if key is None:
            raise ConfigurationError(
                [f"{self.path} lacks key {key_id} / 密钥文件中缺少密钥 {key_id}"]
            )
        return key

    def all(self) -> list[NamedKey]:
        self._refresh()
        return list(self._keys.values())

    def add(self, key: NamedKey, header: str) -> None:
        """Append ``key`` as the new active key (the earlier ones stay, for reading)."""
        with self._lock:
            keys = keyfile.read(self.path)
            keyfile.replace(self.path, [*keys, key], header)
            self._load()
