"""A short-lived, bounded cache of token → principal.

Every request authenticates; a database look-up and a thread hop per request cost more than
the rest of a small request's work (profiled). Entries live ``ttl`` seconds. A revocation
reaches every process at once over Redis (revocation.py: ``forget``), and within ``ttl`` when
it cannot (the entries expire). Unknown tokens are cached too (as None), so guessing does not
reach the database faster.

A look-up that started before a revocation must not put back what the revocation dropped:
``generation`` is read before the database look-up and ``put`` ignores an entry whose
generation is no longer current.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.nodes.service import Principal

MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes whenever entries are dropped (forget, clear)."""
        with self._lock:
            return self._generation

    def get(self, token_hash: str) -> tuple[bool, Principal | None]:
        """(hit, principal); a miss or an expired entry is (False, None)."""
        if self.ttl_s <= 0:
            return False, None
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None or entry[0] < time.monotonic():
                return False, None
            return True, entry[1]

    def put(
        self, token_hash: str, principal: Principal | None, generation: int | None = None
    ) -> None:
        """Remember a look-up; with ``generation`` (read before the look-up) only if nothing
        was dropped since."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._entries[token_hash] = (time.monotonic() + self.ttl_s, principal)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget(self, token_hashes: Iterable[str], *, code: str | None = None) -> None:
        """Drop the given tokens, and every cached principal of ``code``."""
        with self._lock:
            self._generation += 1
            for digest in token_hashes:
                self._entries.pop(digest, None)
            if code is not None:
                for digest in [
                    d for d, (_at, p) in self._entries.items() if p is not None and p.code == code
                ]:
                    del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
