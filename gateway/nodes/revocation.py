"""Telling every API process at once that tokens were revoked.

Each API process keeps looked-up tokens for ``token_cache_s`` seconds (token_cache.py). When
`gateway node revoke` commits, it publishes the node's code and token digests on the Redis
channel ``CHANNEL``; every API process follows that channel (``RevocationFollower``, started
in the app's lifespan) and drops those entries at once. A process whose subscription was
broken may have missed notices: when it subscribes again it empties its whole cache. So a
revoked token is refused by every process at once while Redis carries the notice, and within
``token_cache_s`` in any case (the cache's own expiry) — what `gateway node revoke` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.logs import get_logger
from gateway.nodes.token_cache import TokenCache

log = get_logger("gateway.nodes")
CHANNEL = "gw:tokens:revoked"
POLL_S = 1.0  # how long one read waits for a notice
RECONNECT_S = (0.5, 5.0)  # first and longest wait before subscribing again
HEALTH_CHECK_S = 10  # a silently dead connection is noticed within about this


def announce(redis_url: str, code: str, token_hashes: list[str], timeout_s: float) -> int:
    """Publish a revocation; returns how many processes were listening. Raises
    redis.RedisError (or OSError) when Redis cannot be reached."""
    client = redis.Redis.from_url(
        redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
    try:
        payload = json.dumps({"code": code, "token_hashes": token_hashes})
        return int(client.publish(CHANNEL, payload))
    finally:
        client.close()


def apply(cache: TokenCache, data: Any) -> None:
    """Drop what a notice names from ``cache``; an unreadable notice empties it."""
    try:
        notice = json.loads(data)
        code = str(notice["code"])
        digests = [str(d) for d in notice["token_hashes"]]
    except (ValueError, TypeError, KeyError):
        cache.clear()
        return
    cache.forget(digests, code=code)


async def _close(pubsub: redis.asyncio.client.PubSub) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail again
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


class RevocationFollower:
    """Follows ``CHANNEL`` for one process's token cache, resubscribing after any failure."""

    def __init__(self, redis_url: str, cache: TokenCache, timeout_s: float) -> None:
        self.cache = cache
        # its own client: no silent reconnects (each failure reaches us, so we know to clear)
        self._client = redis.asyncio.Redis.from_url(
            redis_url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=HEALTH_CHECK_S,
        )
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self.subscriptions = 0  # how many times it (re)subscribed

    async def subscribe(self) -> bool:
        """Subscribe (again); True on success. Empties the cache: notices may have been
        missed while not subscribed."""
        await self._drop()
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
        except (redis.RedisError, OSError) as exc:
            log.warning("revocation channel unavailable: %s", type(exc).__name__)
            await _close(pubsub)
            return False
        self._pubsub = pubsub
        self.subscriptions += 1
        self.cache.clear()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        wait = RECONNECT_S[0]
        while not stop.is_set():
            if self._pubsub is None and not await self.subscribe():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                wait = min(wait * 2, RECONNECT_S[1])
                continue
            wait = RECONNECT_S[0]
            assert self._pubsub is not None
            try:
                message = await self._pubsub.get_message(timeout=POLL_S)
            except (redis.RedisError, OSError) as exc:
                log.warning("revocation channel lost: %s", type(exc).__name__)
                await self._drop()
                continue
            if message is not None and message.get("type") == "message":
                apply(self.cache, message["data"])

    async def _drop(self) -> None:
        if self._pubsub is not None:
            await _close(self._pubsub)
            self._pubsub = None

    async def aclose(self) -> None:
        await self._drop()
        await self._client.aclose()
