"""A short-lived, bounded cache of token → principal.

Every request authenticates; a database look-up and a thread hop per request cost more than
the rest of a small request's work (profiled). Entries live ``ttl`` seconds, so a revoked
token stops working within that time in every process (and at once when ttl is 0).
Unknown tokens are cached too (as None), so guessing does not reach the database faster.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.nodes.service import Principal

MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> tuple[bool, Principal | None]:
        """(hit, principal); a miss or an expired entry is (False, None)."""
        if self.ttl_s <= 0:
            return False, None
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None or entry[0] < time.monotonic():
                return False, None
            return True, entry[1]

    def put(self, token_hash: str, principal: Principal | None) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[token_hash] = (time.monotonic() + self.ttl_s, principal)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
