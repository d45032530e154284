"""The Redis side of push delivery: which message ids are ready, in flight or waiting to retry.

The database is the record, Redis only the schedule (DESIGN.md). Redis holds message ids and
times, never content; after a flush or restart everything here is simply gone and the
reconciler re-enqueues what the outbox still owes (``held()`` tells it what Redis has).

Three keys under ``prefix`` (chosen by measurement: docs/decisions/0004-delivery-queue.md):

- ``{prefix}:ready``   a stream with one consumer group; an entry is ``m=<message_id>``.
  Undelivered entries are *ready*, delivered but unacknowledged ones are *in flight* (the
  group's pending list). ``done()`` acknowledges **and deletes** the entry, so the stream only
  ever contains ready and in-flight entries: its length minus the pending count is the ready
  count, and a group created at id 0 after a reset delivers exactly what is waiting.
- ``{prefix}:delayed`` a sorted set, message id scored by the unix time of its next attempt.
- ``{prefix}:held``    a hash, message id → its stream entry id, or ``delayed``. It is the
  index that makes ``held()`` one HMGET, makes enqueue idempotent (an id already present is not
  added twice) and lets ``schedule()`` find and remove the id's ready/in-flight entry. A plain
  set could answer ``held()`` but not the last; scanning the stream could not do either cheaply.

Every multi-key change is one Lua script (registered once, EVALSHA), so a crash between two
commands can never leave an id in two places or in none. After FLUSHALL or a restart the first
XADD recreates the stream without its group; ``take()`` then meets NOGROUP, creates the group
at id 0 (so nothing enqueued meanwhile is skipped) and retries once. Every other method works
on missing keys as they are (XACK and XDEL answer 0, HMGET nil).

One message costs 3 round trips in the normal path: ``enqueue`` (one script for any number of
ids), ``take`` (one script reclaiming idle entries and reading new ones, shared by up to
``count`` jobs; plus one blocking XREADGROUP only when there was nothing to do), ``done``.

Worker protocol: take → attempt → record the attempt in the database → ``done(job)`` on
success or a final failure, or ``schedule(job.message_id, at)`` for a retry (that removes the
in-flight entry itself; a later ``done`` of the old job is then a harmless no-op). A worker
that dies holding jobs loses nothing: after ``claim_idle_ms`` another worker's ``take``
reclaims them with ``deliveries`` > 1. ``claim_idle_ms`` must therefore exceed the longest
attempt (HTTP timeout plus the database write), or a slow attempt is duplicated (harmless,
receivers de-duplicate by message id, but wasteful).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from redis.exceptions import ResponseError

GROUP = "workers"

# KEYS: stream, held   ARGV: id...   → number of ids newly made ready
_ENQUEUE = """
local added = 0
for i = 1, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[2], id) == 0 then
    redis.call('HSET', KEYS[2], id, redis.call('XADD', KEYS[1], '*', 'm', id))
    added = added + 1
  end
end
return added
"""

# KEYS: stream, delayed, held   ARGV: group, id, at   → 1 if a ready/in-flight entry was moved
_SCHEDULE = """
local cur = redis.call('HGET', KEYS[3], ARGV[2])
local moved = 0
if cur and cur ~= 'delayed' then
  redis.call('XACK', KEYS[1], ARGV[1], cur)  -- 0, not an error, when the group is gone
  redis.call('XDEL', KEYS[1], cur)
  moved = 1
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], 'delayed')
return moved
"""

# KEYS: stream, delayed, held   ARGV: now, limit   → number moved to the stream
_PROMOTE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HSET', KEYS[3], id, redis.call('XADD', KEYS[1], '*', 'm', id))
end
return #ids
"""

# KEYS: stream   ARGV: group, consumer, count, min_idle_ms
# → flat list: entry id, message id, deliveries, ...  (reclaimed first, then new ones)
# Reclaims use XAUTOCLAIM JUSTID and read each entry themselves: without JUSTID, Redis 6.2
# answers a bare nil for an entry deleted while pending, so its id could never be acknowledged
# and every later take would meet it again. JUSTID does not count the hand-out, so the script
# sets the count (XCLAIM RETRYCOUNT). Reclaims are rare; the normal path reads nothing extra.
_TAKE = """
local out = {}
local n = 0
local left = tonumber(ARGV[3])
local function field_m(fields)
  for i = 1, #fields, 2 do
    if fields[i] == 'm' then return fields[i + 1] end
  end
  return false
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], '0-0',
                           'COUNT', left, 'JUSTID')
for _, eid in ipairs(claimed[2]) do
  local entry = redis.call('XRANGE', KEYS[1], eid, eid)[1]
  local id = entry and field_m(entry[2])
  if id then
    local count = redis.call('XPENDING', KEYS[1], ARGV[1], eid, eid, 1)[1][4] + 1
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, eid, 'RETRYCOUNT', count, 'JUSTID')
    out[n + 1], out[n + 2], out[n + 3] = eid, id, count
    n = n + 3
    left = left - 1
  else
    -- deleted behind our back (7.0 drops such ids from the pending list itself; 6.2 does not)
    redis.call('XACK', KEYS[1], ARGV[1], eid)
  end
end
if left > 0 then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left,
                       'STREAMS', KEYS[1], '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      local id = field_m(e[2])
      if id then
        out[n + 1], out[n + 2], out[n + 3] = e[1], id, 1
        n = n + 3
      else
        redis.call('XACK', KEYS[1], ARGV[1], e[1])
        redis.call('XDEL', KEYS[1], e[1])
      end
    end
  end
end
return out
"""

# KEYS: stream, held   ARGV: group, entry id, message id   → 1 if this call acknowledged it
# The held index is cleared only if it still points at this entry: the id may have been
# rescheduled or re-enqueued since this job was taken.
_DONE = """
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[3])
end
return acked
"""

# KEYS: stream, delayed   ARGV: group   → {ready, delayed, in flight}; zeros when missing
_DEPTH = """
local len = redis.call('XLEN', KEYS[1])
local pending = 0
if len > 0 then
  local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
  if type(p) == 'table' and not p.err then pending = p[1] end
end
return {len - pending, redis.call('ZCARD', KEYS[2]), pending}
"""


@dataclass(frozen=True, slots=True)
class Job:
    entry_id: str  # stream entry id
    message_id: str
    deliveries: int  # times this entry was handed out: 1 first, > 1 after a crash reclaim


@dataclass(frozen=True, slots=True)
class QueueDepth:
    ready: int  # in the stream, not yet handed out
    delayed: int  # waiting in the sorted set for their retry time
    in_flight: int  # handed out, not yet done (the group's pending list)


def _text(value: bytes | str) -> str:
    # the caller's client may or may not decode responses
    return value.decode() if isinstance(value, bytes) else value


class DeliveryQueue:
    """The delivery schedule in Redis. Timeouts are those of the client passed in."""

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        *,
        prefix: str = "gw:delivery",
        claim_idle_ms: int = 30_000,
    ) -> None:
        if claim_idle_ms <= 0:
            raise ValueError("claim_idle_ms must be positive")
        self._redis = redis
        self.prefix = prefix
        self.claim_idle_ms = claim_idle_ms
        self.stream_key = f"{prefix}:ready"
        self.delayed_key = f"{prefix}:delayed"
        self.held_key = f"{prefix}:held"
        self._enqueue = redis.register_script(_ENQUEUE)
        self._schedule = redis.register_script(_SCHEDULE)
        self._promote = redis.register_script(_PROMOTE)
        self._take = redis.register_script(_TAKE)
        self._done = redis.register_script(_DONE)
        self._depth = redis.register_script(_DEPTH)

    async def ensure(self) -> None:
        """Create the stream and its consumer group if missing (idempotent)."""
        try:
            await self._redis.xgroup_create(self.stream_key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, message_ids: Sequence[str]) -> int:
        """Make these ids ready now, in one round trip; ids already held (ready, in flight or
        delayed) are left where they are. Returns how many were added.

        Leaving a delayed id alone keeps a reconciler that races a worker's retry from
        cutting the backoff short. Redis runs nothing else while the script runs (~6-8 µs per
        id measured): pass batches of about 1,000, not the whole outbox."""
        if not message_ids:
            return 0
        added = await self._enqueue(keys=[self.stream_key, self.held_key], args=list(message_ids))
        return int(added)

    async def schedule(self, message_id: str, at: float) -> None:
        """Retry ``message_id`` at unix time ``at``. Wherever the id is (ready, in flight,
        already delayed) it is moved, never duplicated."""
        await self._schedule(
            keys=[self.stream_key, self.delayed_key, self.held_key],
            args=[GROUP, message_id, repr(float(at))],
        )

    async def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move ids whose time has come (score ≤ ``now``) into the stream, at most ``limit``,
        atomically. Returns how many moved."""
        moved = await self._promote(
            keys=[self.stream_key, self.delayed_key, self.held_key],
            args=[repr(float(now)), limit],
        )
        return int(moved)

    async def take(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        """Up to ``count`` jobs for ``consumer``: first entries other consumers have held for
        longer than ``claim_idle_ms`` (crashed), then new ones. If there are none, wait up to
        ``block_ms`` for new ones; ``block_ms`` ≤ 0 means do not wait (never Redis' BLOCK 0,
        forever). ``block_ms`` must stay below the client's socket timeout."""
        if count <= 0:
            raise ValueError("count must be positive")
        timeout = self._redis.connection_pool.connection_kwargs.get("socket_timeout")
        if block_ms > 0 and timeout is not None and block_ms >= timeout * 1000:
            # the client would time out first, drop the connection and leave the read entries
            # in flight until reclaimed: a misconfiguration, said plainly
            raise ValueError(f"block_ms={block_ms} must be below the socket timeout {timeout} s")
        try:
            return await self._take_once(consumer, count, block_ms)
        except ResponseError as exc:
            # after FLUSHALL/restart the stream is missing or was recreated by a bare XADD:
            # make the group at id 0, so nothing enqueued meanwhile is skipped, and retry once.
            # Redis 7 answers a read blocked on a stream deleted meanwhile with UNBLOCKED.
            if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                raise
            await self.ensure()
            return await self._take_once(consumer, count, block_ms)

    async def _take_once(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        flat = await self._take(
            keys=[self.stream_key], args=[GROUP, consumer, count, self.claim_idle_ms]
        )
        jobs = [
            Job(_text(flat[i]), _text(flat[i + 1]), int(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]
        if jobs or block_ms <= 0:
            return jobs
        reply = await self._redis.xreadgroup(
            GROUP, consumer, {self.stream_key: ">"}, count=count, block=block_ms
        )
        return [
            Job(_text(entry_id), _text(fields[b"m" if b"m" in fields else "m"]), 1)
            for entry_id, fields in _xread_entries(reply)
        ]

    async def done(self, job: Job) -> bool:
        """Acknowledge and forget ``job``'s entry, in one round trip. False if it was no longer
        in flight (another worker reclaimed and finished it, or it was rescheduled)."""
        acked = await self._done(
            keys=[self.stream_key, self.held_key], args=[GROUP, job.entry_id, job.message_id]
        )
        return bool(acked)

    async def held(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these ids Redis holds (ready, in flight or delayed), in one round trip."""
        if not message_ids:
            return set()
        values = await self._redis.hmget(self.held_key, list(message_ids))
        return {mid for mid, value in zip(message_ids, values, strict=True) if value is not None}

    async def depth(self) -> QueueDepth:
        """How many ids are ready, delayed and in flight, in one round trip."""
        ready, delayed, in_flight = await self._depth(
            keys=[self.stream_key, self.delayed_key], args=[GROUP]
        )
        return QueueDepth(int(ready), int(delayed), int(in_flight))

    async def clear(self) -> None:
        """Delete this queue's keys (tests, operator reset); the reconciler refills it."""
        await self._redis.delete(self.stream_key, self.delayed_key, self.held_key)


def _xread_entries(reply: Any) -> list[tuple[bytes | str, dict[Any, Any]]]:
    """Entries of a one-stream XREADGROUP reply as redis-py parses it: RESP2 gives
    ``[[stream, entries]]``, RESP3 ``{stream: [entries]}`` (one more list); empty on timeout."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return [entry for wrapped in reply.values() for entries in wrapped for entry in entries]
    return [entry for _, entries in reply for entry in entries]
