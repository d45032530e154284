"""Crash recovery of push delivery (PROTOCOL.md §6, DESIGN.md "crash recovery is tested by
killing processes"): a `gateway worker` process is killed with SIGKILL at random moments while
it pushes 2,000 messages to a real receiver, and restarted each time. Afterwards the database
records every message delivered exactly once, the receiver has seen every id at least once, and
nothing is lost. Receivers may see an id twice only because a kill fell between their 2xx and
the worker's commit; the test prints how often that happened and bounds it by the kills.

Both stacks: SQLite + an embedded Redis this test starts (unix socket), and this machine's
PostgreSQL (a fresh schema) + Redis. `gateway worker` uses DeliveryQueue's fixed key prefix
``gw:delivery``, so on the machine's Redis those keys are deleted before and after the test.

`gateway worker` builds its DeliveryQueue with claim_idle_ms = GATEWAY_DELIVERY_LEASE_S, so a
killed worker's jobs are handed out again once its lease is over; the lease is set short here
(and the HTTP timeout below it, as the queue requires) so that recovery takes seconds.

A second test pins down a bug found on the way (now fixed): a job reclaimed before the dead
worker's lease has ended is dropped from Redis, and only the reconciler brings it back.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import redis
from sqlalchemy import ColumnElement, func, select

from gateway.delivery import repository
from gateway.delivery.models import ATTEMPTS, DELIVERIES
from gateway.delivery.queue import DeliveryQueue
from gateway.delivery.worker import DeliveryWorker, http_client
from gateway.embedded_redis import EmbeddedRedis, async_redis_client
from gateway.messages.models import MESSAGES
from gateway.nodes.service import add_node
from gateway.runtime import Runtime
from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import SystemTime
from tests.api.conftest import example
from tests.conftest import STACKS, pg_schema_url, require_redis
from tests.delivery.receivers import Receiver, receiver
from tests.synthetic import make_id

pytestmark = pytest.mark.slow

MESSAGES_TOTAL = 2000
BATCH = 1000
KILLS = 10
MIN_MID_STREAM_KILLS = 3
KILL_DELAY_S = (0.2, 1.5)  # after the worker's first push, before its SIGKILL
ACTIVE_WAIT_S = 8.0  # how long to wait for a fresh worker to push something
OVERALL_S = 150.0  # from the first worker start to all delivered
WORKER_ENV = {
    # a dead worker's lease (and so its jobs' idle time in Redis) lapses quickly; an attempt
    # (timeout + database write) must stay below it, or the live worker reclaims its own jobs
    "GATEWAY_DELIVERY_LEASE_S": "3",
    "GATEWAY_DELIVERY_TIMEOUT_S": "2",
    "GATEWAY_DELIVERY_RECONCILE_S": "1",  # the shared Redis may be reset by other test runs
    "GATEWAY_DELIVERY_BACKOFF_BASE_S": "0.2",
    "GATEWAY_DELIVERY_BACKOFF_CAP_S": "1",
    "GATEWAY_DELIVERY_GIVE_UP_S": "600",
}
QUEUE_PATTERN = "gw:delivery*"  # DeliveryQueue's default prefix, which `gateway worker` uses
RESIDENCE, ORIGIN = "441900", "430582"
GATEWAY_CLI = Path(sys.executable).with_name("gateway")
IN_FLIGHT_MAX = 32  # what one worker has in flight: delivery_concurrency (default 32)
# tests/delivery/receivers.py's ThreadingHTTPServer listens with socketserver's backlog of 5:
# 32 concurrent connects overflow it and the dropped SYNs are retried after 1, 3, 7 s, which
# made pushes take up to 2 s here. A real listen backlog keeps the test about the worker.
RECEIVER_BACKLOG = 128


def _clear_machine_queue(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        for key in client.scan_iter(QUEUE_PATTERN):
            client.delete(key)
    finally:
        client.close()


@contextmanager
def _crash_stack(kind: str, tmp: Path) -> Iterator[tuple[str, str]]:
    """(database_url, redis_url), both explicit: the worker is another process."""
    if kind == "embedded":
        server = EmbeddedRedis(tmp / "redis-data")
        try:
            yield f"sqlite:///{tmp / 'gateway.db'}", server.url
        finally:
            server.stop()
        return
    with pg_schema_url() as database_url:
        redis_url = require_redis()
        _clear_machine_queue(redis_url)
        try:
            yield database_url, redis_url
        finally:
            _clear_machine_queue(redis_url)


def _notification(i: int) -> dict[str, Any]:
    """A pregnancy notification about its own (synthetic) person: pushes about one person
    are sent in order, one at a time, so 2,000 about the same one would be serialised."""
    doc = example("notification.pregnancy")
    born = date(1988, 1, 1) + timedelta(days=i)
    doc["subject"]["id_number"] = make_id(ORIGIN, born, seq=2 + 2 * (i % 400))  # even: female
    doc["subject"]["birth_date"] = born.isoformat()
    return doc


def _add_node(runtime: Runtime, code: str, endpoint: str | None) -> str:
    with runtime.session() as session:
        _row, token = add_node(
            session,
            code=code,
            name=f"测试节点 {code}",
            role="node",
            endpoint=endpoint,
            now=runtime.time.now(),
            divisions=runtime.registry,
        )
        session.commit()
    runtime.invalidate_routing()
    return token


def _submit(
    database_url: str, redis_url: str, tmp: Path, county: Receiver, count: int = MESSAGES_TOTAL
) -> list[str]:
    """Register the nodes and submit the messages through the real API (no worker in it):
    the outbox rows are written with the messages and the ids enqueued after commit."""
    settings = Settings(
        data_dir=tmp / "data", database_url=database_url, redis_url=redis_url, token_cache_s=0
    )
    ids: list[str] = []
    with Gateway(settings, time_source=SystemTime()) as runtime:
        config = uvicorn_config(runtime, "127.0.0.1", 0, worker=False, log_level="warning")
        with BackgroundServer(config) as server:
            token = _add_node(runtime, RESIDENCE, None)
            _add_node(runtime, ORIGIN, county.url)
            with httpx.Client(
                base_url=f"http://127.0.0.1:{server.port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(120.0),
            ) as residence:
                for start in range(0, count, BATCH):
                    items = [_notification(i) for i in range(start, min(start + BATCH, count))]
                    response = residence.post("/api/v1/messages/batch", json={"messages": items})
                    assert response.status_code == 200, response.text[:500]
                    results = response.json()["results"]
                    assert {r["status"] for r in results} == {202}, results[:3]
                    assert {r["state"] for r in results} == {"routed"}
                    ids.extend(r["message_id"] for r in results)
    assert len(set(ids)) == count
    return ids


def _delivered(runtime: Runtime) -> int:
    with runtime.session() as session:
        count = session.execute(
            select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.state == "delivered")
        ).scalar_one()
    return int(count)


def _group_counts(
    runtime: Runtime, column: ColumnElement[Any], *where: ColumnElement[bool]
) -> dict[str, int]:
    """How many rows per value of ``column`` (of the rows matching ``where``)."""
    with runtime.session() as session:
        rows = session.execute(select(column, func.count()).where(*where).group_by(column))
        return {str(value): int(count) for value, count in rows}


def _spawn(env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # our own console script, fixed arguments
        [str(GATEWAY_CLI), "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_active(proc: subprocess.Popen[bytes], county: Receiver, timeout: float) -> bool:
    """Until the receiver gets a push this worker sent (or the timeout)."""
    with county.lock:
        before = len(county.hits)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with county.lock:
            if len(county.hits) > before:
                return True
        time.sleep(0.02)
    return False


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


def _kill_and_restart(
    env: dict[str, str], runtime: Runtime, county: Receiver, rng: random.Random, log_path: Path
) -> tuple[list[tuple[float, int, int]], float]:
    """Start `gateway worker`, SIGKILL it a random moment after it began pushing, KILLS times
    (fewer if all is delivered before), then let one more run until the database says every
    message is delivered. Returns the kills as (delay, delivered before, delivered after) and
    the seconds from the first start to all delivered."""
    kills: list[tuple[float, int, int]] = []
    with log_path.open("ab") as log:
        start = time.monotonic()
        for _ in range(KILLS):
            if _delivered(runtime) == MESSAGES_TOTAL:
                break
            proc = _spawn(env, log)
            try:
                _wait_active(proc, county, ACTIVE_WAIT_S)
                delay = rng.uniform(*KILL_DELAY_S)
                before = _delivered(runtime)
                time.sleep(delay)
                assert proc.poll() is None, "worker exited by itself:\n" + _log_tail(log_path)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            kills.append((round(delay, 2), before, _delivered(runtime)))

        proc = _spawn(env, log)
        try:
            while (done := _delivered(runtime)) < MESSAGES_TOTAL:
                if time.monotonic() - start > OVERALL_S:
                    pytest.fail(
                        f"only {done}/{MESSAGES_TOTAL} delivered {OVERALL_S:.0f} s after the "
                        f"first worker started ({len(kills)} kills): lost or stuck\n"
                        + _log_tail(log_path)
                    )
                assert proc.poll() is None, "worker exited by itself:\n" + _log_tail(log_path)
                time.sleep(0.2)
            return kills, time.monotonic() - start
        finally:
            proc.terminate()  # SIGTERM: the worker stops cleanly
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.mark.timeout(280)
@pytest.mark.parametrize("kind", STACKS)
def test_killed_workers_lose_nothing_and_record_each_delivery_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ThreadingHTTPServer, "request_queue_size", RECEIVER_BACKLOG)
    seed = int(
        os.environ.get("GATEWAY_TEST_CRASH_SEED", str(random.SystemRandom().randrange(1 << 32)))
    )
    rng = random.Random(seed)  # kill timing, not secrets
    began = time.monotonic()
    with (
        _crash_stack(kind, tmp_path) as (database_url, redis_url),
        receiver() as county,
    ):
        ids = _submit(database_url, redis_url, tmp_path, county)
        submitted_s = time.monotonic() - began
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            **WORKER_ENV,
        }
        runtime = Runtime.create(Settings(data_dir=tmp_path / "data", database_url=database_url))
        try:
            kills, drained_s = _kill_and_restart(env, runtime, county, rng, tmp_path / "w.log")
            states = _group_counts(runtime, DELIVERIES.c.state)
            delivered_rows = _group_counts(
                runtime, ATTEMPTS.c.message_id, ATTEMPTS.c.outcome == "delivered"
            )
            outcomes = _group_counts(runtime, ATTEMPTS.c.outcome)
            message_delivery = _group_counts(
                runtime, MESSAGES.c.delivery, MESSAGES.c.message_id.in_(ids)
            )
        finally:
            runtime.close()

        with county.lock:
            hits: dict[str, int] = {}
            delivery_ids: set[str] = set()
            for _t, message_id, delivery_id in county.hits:
                hits[message_id] = hits.get(message_id, 0) + 1
                delivery_ids.add(delivery_id)

    twice = sorted(n for n in hits.values() if n > 1)
    extra = sum(hits.values()) - len(hits)
    mid_stream = [k for k in kills if k[2] < MESSAGES_TOTAL]
    print(
        f"\n[{kind}] seed={seed} submit={submitted_s:.1f}s deliver={drained_s:.1f}s "
        f"kills (delay s, delivered before, after)={kills}\n"
        f"[{kind}] attempt rows by outcome={outcomes}; receiver hits={sum(hits.values())} "
        f"for {len(hits)} ids; ids seen more than once={len(twice)} "
        f"(at most {max(twice, default=1)} times); repeated delivery ids="
        f"{sum(hits.values()) - len(delivery_ids)}"
    )

    # the database: every message delivered, recorded so exactly once
    assert states == {"delivered": MESSAGES_TOTAL}
    assert set(delivered_rows) == set(ids)
    assert set(delivered_rows.values()) == {1}
    assert message_delivery == {"delivered": MESSAGES_TOTAL}
    # the receiver: nothing lost, and nothing else received
    assert set(hits) == set(ids)
    # a second push of an id needs a kill between its 2xx and the commit: at most what one
    # worker has in flight per kill
    assert extra <= IN_FLIGHT_MAX * len(kills)
    # and the kills did fall while there was work to do (if not, the machine delivers faster
    # than this test was sized for: raise MESSAGES_TOTAL)
    assert len(mid_stream) >= MIN_MID_STREAM_KILLS, kills


LEASE_S = 2.0
CLAIM_LAG_S = 0.5  # from a worker's take to its claim transaction (it waits for the writer)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", STACKS)
def test_a_job_reclaimed_before_the_dead_workers_lease_ends_stays_scheduled(
    kind: str, tmp_path: Path
) -> None:
    """A worker takes a job, claims it CLAIM_LAG_S later and dies. Another worker reclaims the
    job once it has been idle for claim_idle_ms (= the lease, as `gateway worker` builds its
    queue) — CLAIM_LAG_S before the dead worker's lease ends — so its claim finds the message
    leased. The message must stay scheduled in Redis until the lease is over."""
    with (
        _crash_stack(kind, tmp_path) as (database_url, redis_url),
        receiver() as county,
    ):
        [message_id] = _submit(database_url, redis_url, tmp_path, county, count=1)
        settings = Settings(
            data_dir=tmp_path / "data", database_url=database_url, delivery_lease_s=LEASE_S
        )
        runtime = Runtime.create(settings)

        async def scenario() -> set[str]:
            client = async_redis_client(redis_url, settings)
            web = http_client(settings.delivery_timeout_s, settings.delivery_concurrency)
            try:
                queue = DeliveryQueue(client, claim_idle_ms=int(LEASE_S * 1000))
                await queue.enqueue([message_id])  # (the API enqueued it already: a no-op)
                [dead_job] = await queue.take("dead-worker", 1, block_ms=0)
                taken = time.monotonic()
                assert dead_job.message_id == message_id
                await asyncio.sleep(CLAIM_LAG_S)
                with runtime.writing() as session:
                    claimed = repository.claim(
                        session,
                        [message_id],
                        owner="dead-worker",
                        now=runtime.time.now(),
                        lease_s=LEASE_S,
                        pause_recheck_s=settings.delivery_pause_recheck_s,
                    )
                    session.commit()
                assert [c.message_id for c in claimed.claimed] == [message_id]
                # the dead worker sends nothing more; the live one takes after the idle time
                await asyncio.sleep(taken + LEASE_S + 0.1 - time.monotonic())
                live = DeliveryWorker(runtime, queue, web, name="live-worker")
                jobs = await queue.take(live.name, live.batch, block_ms=0)
                assert [(j.message_id, j.deliveries) for j in jobs] == [(message_id, 2)]
                await live.round(jobs)
                return await queue.held([message_id])
            finally:
                await web.aclose()
                await client.aclose()

        try:
            held = asyncio.run(scenario())
            with runtime.session() as session:
                states = repository.state_counts(session)
        finally:
            runtime.close()

    assert states == {"pending": 1}  # nothing was attempted: the lease was someone else's
    assert held == {message_id}  # ... and Redis still has it to hand out after the lease
