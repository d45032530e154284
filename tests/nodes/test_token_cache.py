from __future__ import annotations

import pytest

from gateway.nodes import token_cache
from gateway.nodes.service import Principal
from gateway.nodes.token_cache import TokenCache

NODE = Principal("430582", "邵东", "node")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: now[0])
    return now


def test_entries_expire_after_ttl(clock: list[float]) -> None:
    cache = TokenCache(5)
    assert cache.get("h") == (False, None)
    cache.put("h", NODE)
    assert cache.get("h") == (True, NODE)
    clock[0] += 5.01
    assert cache.get("h") == (False, None)  # a revocation is seen within the TTL


def test_unknown_tokens_are_remembered_as_none(clock: list[float]) -> None:
    cache = TokenCache(5)
    cache.put("bad", None)
    assert cache.get("bad") == (True, None)


def test_zero_ttl_disables_the_cache(clock: list[float]) -> None:
    cache = TokenCache(0)
    cache.put("h", NODE)
    assert cache.get("h") == (False, None)


def test_size_is_bounded(clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_cache, "MAX_ENTRIES", 3)
    cache = TokenCache(5)
    for name in "abcd":
        cache.put(name, NODE)
    assert cache.get("a") == (False, None)
    assert cache.get("d") == (True, NODE)
