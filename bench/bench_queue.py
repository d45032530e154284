"""The delivery queue: our Redis Streams design against maintained job-queue libraries.

    python -m bench.bench_queue [--jobs 5000] [--concurrency 10] [--batch 1000] [--repeat 1]
                                [--targets machine,embedded] [--options streams,arq,saq]

Each option is used the same way, on the same Redis, one after the other: enqueue N jobs that
carry only a message id (one call per job, as a submission path would; ours also in batches,
as the gateway does after committing a batch), then one consumer with ``--concurrency`` jobs
in hand at a time takes and acknowledges them all with a no-op handler. Reported: jobs/s for
each phase, Redis round trips per job (counted client-side: one per command or pipeline
written to the socket, by a connection subclass), server memory per queued job, and whether a
second enqueue of the same ids created duplicates.

Targets: this machine's Redis (127.0.0.1:6379, db 0, every key named with a per-run token
and deleted afterwards) and the embedded redis-server 6.2 (started here in a temp dir).
``arq`` and ``saq`` are optional: install them into the venv to include them
(``pip install arq saq``; arq pins redis<6: reinstall the project's redis afterwards). A library
that is not installed is skipped, and said so.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import platform
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

from gateway.delivery.queue import DeliveryQueue
from gateway.embedded_redis import EmbeddedRedis

MACHINE_URL = "redis://127.0.0.1:6379/0"
SOCKET_TIMEOUT_S = 5.0
ROUND_TRIPS = [0]  # every write of a command or pipeline to any benchmark connection


class CountingConnection(Connection):
    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        ROUND_TRIPS[0] += 1
        await super().send_packed_command(command, check_health)


class CountingUnixConnection(UnixDomainSocketConnection):
    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        ROUND_TRIPS[0] += 1
        await super().send_packed_command(command, check_health)


def counting_pool(url: str) -> redis.asyncio.ConnectionPool:
    if url.startswith("unix://"):
        return redis.asyncio.ConnectionPool(
            connection_class=CountingUnixConnection,
            path=url.removeprefix("unix://"),
            socket_timeout=SOCKET_TIMEOUT_S,
        )
    return redis.asyncio.ConnectionPool.from_url(
        url, connection_class=CountingConnection, socket_timeout=SOCKET_TIMEOUT_S
    )


@dataclass
class Phase:
    jobs: int = 0
    seconds: float = 0.0
    round_trips: int = 0

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0

    @property
    def per_job(self) -> float:
        return self.round_trips / self.jobs if self.jobs else 0.0


@dataclass
class Result:
    option: str
    target: str
    phases: dict[str, Phase] = field(default_factory=dict)
    bytes_per_job: float = 0.0
    duplicates: int = 0  # jobs run beyond one per id after enqueueing some ids twice
    note: str = ""


async def measured(phase: Phase, jobs: int, body: Awaitable[Any]) -> Any:
    rt, start = ROUND_TRIPS[0], time.perf_counter()
    out = await body
    phase.seconds += time.perf_counter() - start
    phase.round_trips += ROUND_TRIPS[0] - rt
    phase.jobs += jobs
    return out


async def used_memory(url: str) -> int:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S)
    try:
        info = await client.info("memory")
        return int(info["used_memory"])
    finally:
        await client.aclose()


async def delete_keys(url: str, pattern: str) -> int:
    """Delete every key matching ``pattern`` (the libraries' keys carry our run token)."""
    client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S)
    try:
        keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
        return len(keys)
    finally:
        await client.aclose()


# -- ours ------------------------------------------------------------------------------------


async def run_streams(url: str, target: str, n: int, concurrency: int, batch: int) -> Result:
    result = Result("streams (ours)", target)
    client = redis.asyncio.Redis.from_pool(counting_pool(url))
    queue = DeliveryQueue(client, prefix=f"bench:delivery:{uuid.uuid4().hex}")
    ids = [str(uuid.uuid4()) for _ in range(n)]

    async def consume(phase: Phase, expected: int) -> int:
        got = 0
        while got < expected:
            jobs = await queue.take("bench", count=concurrency, block_ms=100)
            await asyncio.gather(*(queue.done(j) for j in jobs))
            got += len(jobs)
        phase.jobs += got
        return got

    async def single() -> None:
        for mid in ids:
            await queue.enqueue([mid])

    async def batched() -> None:
        for i in range(0, n, batch):
            await queue.enqueue(ids[i : i + batch])

    try:
        await queue.ensure()
        await queue.enqueue(["warm-up"])  # connect, load the scripts
        await consume(Phase(), 1)

        mem = await used_memory(url)
        await measured(result.phases.setdefault("enqueue 1/call", Phase()), n, single())
        result.bytes_per_job = (await used_memory(url) - mem) / n
        added = await queue.enqueue(ids[:100])  # the same ids again
        consume_phase = result.phases.setdefault("consume", Phase())
        got = await measured(consume_phase, 0, consume(consume_phase, n + added))
        result.duplicates = got - n

        await measured(result.phases.setdefault(f"enqueue {batch}/call", Phase()), n, batched())
        await measured(consume_phase, 0, consume(consume_phase, n))

        # retries: schedule all as due, then promote in the default chunks of 1,000
        for mid in ids:
            await queue.schedule(mid, at=0.0)

        async def promote() -> None:
            while await queue.promote_due(now=time.time()):
                pass

        await measured(result.phases.setdefault("promote_due", Phase()), n, promote())
        await measured(consume_phase, 0, consume(consume_phase, n))
    finally:
        await queue.clear()
        await client.aclose()
    return result


# -- arq -------------------------------------------------------------------------------------


async def run_arq(url: str, target: str, n: int, concurrency: int, batch: int) -> Result | str:
    try:
        # imported by name: optional, and typed as Any so the benchmark checks without it
        arq_connections = importlib.import_module("arq.connections")
        arq_worker = importlib.import_module("arq.worker")
    except ImportError:
        return "arq: skipped (not installed; pip install arq)"
    token = f"bench-arq-{uuid.uuid4().hex}"
    result = Result("arq " + importlib.import_module("arq").VERSION, target)
    processed = [0]

    async def noop(ctx: dict[str, Any], message_id: str) -> None:
        processed[0] += 1

    pool = arq_connections.ArqRedis(counting_pool(url), default_queue_name=token)
    ids = [f"{token}-{i}" for i in range(n)]

    async def single() -> None:
        for mid in ids:
            # _job_id makes enqueue idempotent while the job (or its result) exists
            await pool.enqueue_job("noop", mid, _job_id=mid)

    def worker() -> Any:
        return arq_worker.Worker(
            functions=[arq_worker.func(noop, name="noop")],
            redis_pool=pool,
            queue_name=token,
            # burst: stop once the queue is empty. Not max_burst_jobs: arq counts a finished
            # job twice (complete and still in its task dict) and stops early.
            burst=True,
            max_jobs=concurrency,
            keep_result=0,  # no result keys: we record outcomes in the database
            poll_delay=0.0,  # best case under a backlog; its default polls every 0.5 s
            handle_signals=False,
        )

    try:
        mem = await used_memory(url)
        await measured(result.phases.setdefault("enqueue 1/call", Phase()), n, single())
        result.bytes_per_job = (await used_memory(url) - mem) / n
        for mid in ids[:100]:
            await pool.enqueue_job("noop", mid, _job_id=mid)
        w = worker()
        await measured(result.phases.setdefault("consume", Phase()), n, w.main())
        await w.close()
        result.duplicates = processed[0] - n
        result.note = "no batch enqueue; polls (ZRANGEBYSCORE) rather than blocks"
    finally:
        await pool.aclose()
        await pool.connection_pool.disconnect()
        await delete_keys(url, f"*{token}*")
    return result


# -- saq -------------------------------------------------------------------------------------


async def run_saq(url: str, target: str, n: int, concurrency: int, batch: int) -> Result | str:
    try:
        saq = importlib.import_module("saq")
        saq_redis = importlib.import_module("saq.queue.redis")
    except ImportError:
        return "saq: skipped (not installed; pip install saq)"
    token = f"bench-saq-{uuid.uuid4().hex}"
    result = Result("saq " + saq.__version__, target)
    processed = [0]

    async def noop(ctx: dict[str, Any], *, message_id: str) -> None:
        processed[0] += 1

    client = redis.asyncio.Redis.from_pool(counting_pool(url))
    queue = saq_redis.RedisQueue(client, name=token)
    ids = [f"{token}-{i}" for i in range(n)]

    async def single() -> None:
        for mid in ids:
            # key makes enqueue idempotent while the job exists
            await queue.enqueue("noop", key=mid, message_id=mid)

    try:
        await queue.connect()
        mem = await used_memory(url)
        await measured(result.phases.setdefault("enqueue 1/call", Phase()), n, single())
        result.bytes_per_job = (await used_memory(url) - mem) / n
        again = [await queue.enqueue("noop", key=mid, message_id=mid) for mid in ids[:100]]
        w = saq.Worker(
            queue,
            functions=[("noop", noop)],
            concurrency=concurrency,
            burst=True,
            dequeue_timeout=0.5,
            # burst ends after exactly the jobs accepted, not after a trailing dequeue timeout
            max_burst_jobs=n + sum(job is not None for job in again),
        )
        await measured(result.phases.setdefault("consume", Phase()), n, w.start())
        result.duplicates = processed[0] - n
        result.note = (
            "no batch enqueue; job = serialised call; duplicates: its sweeper re-runs jobs "
            "caught between dequeue and their status update at worker start"
        )
    finally:
        await queue.disconnect()
        await delete_keys(url, f"*{token}*")
    return result


# -- driver ----------------------------------------------------------------------------------

Runner = Callable[[str, str, int, int, int], Awaitable["Result | str"]]
OPTIONS: dict[str, Runner] = {"streams": run_streams, "arq": run_arq, "saq": run_saq}


def machine_available() -> bool:
    try:
        client = redis.Redis.from_url(MACHINE_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError:
        return False
    return True


def report(results: list[Result], jobs: int, concurrency: int) -> None:
    print(f"\n{jobs} jobs per phase, consumer concurrency {concurrency}, best of the repeats")
    print(
        "| target | option | enqueue 1/call | batched enqueue | consume | promote_due "
        "| round trips/job (enqueue 1/call, batched, consume) | bytes/queued job "
        "| duplicates run (worst run) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        p = r.phases
        batched = next((v for k, v in p.items() if k.startswith("enqueue") and "1/" not in k), None)

        def rate(ph: Phase | None) -> str:
            return f"{ph.rate:,.0f}/s" if ph else "—"

        rts = ", ".join(
            f"{ph.per_job:.3g}" if ph else "—"
            for ph in (p.get("enqueue 1/call"), batched, p.get("consume"))
        )
        print(
            f"| {r.target} | {r.option} | {rate(p.get('enqueue 1/call'))} | {rate(batched)} "
            f"| {rate(p.get('consume'))} | {rate(p.get('promote_due'))} | {rts} "
            f"| {r.bytes_per_job:,.0f} | {r.duplicates} |"
        )
    for note in dict.fromkeys(f"{r.option}: {r.note}" for r in results if r.note):
        print(note)


def best(results: list[Result]) -> list[Result]:
    """Per (target, option), each phase's fastest run."""
    merged: dict[tuple[str, str], Result] = {}
    for r in results:
        key = (r.target, r.option)
        if key not in merged:
            merged[key] = r
            continue
        m = merged[key]
        m.duplicates = max(m.duplicates, r.duplicates)  # the worst run, not the best
        for name, ph in r.phases.items():
            if name not in m.phases or ph.rate > m.phases[name].rate:
                m.phases[name] = ph
    return list(merged.values())


async def main_async(args: argparse.Namespace) -> None:
    # saq logs a warning at every burst stop about its housekeeping tasks; not our concern
    logging.getLogger("saq").setLevel(logging.ERROR)
    options = [OPTIONS[o] for o in args.options.split(",")]
    results: list[Result] = []
    skipped: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="gw-bench-redis-") as tmp:
        targets: list[tuple[str, str]] = []
        embedded: EmbeddedRedis | None = None
        for name in args.targets.split(","):
            if name == "machine":
                if machine_available():
                    targets.append(("machine 7.x TCP", MACHINE_URL))
                else:
                    skipped.add(f"machine Redis: skipped (nothing answers at {MACHINE_URL})")
            else:
                embedded = EmbeddedRedis(Path(tmp))
                targets.append(("embedded 6.2 unix", embedded.url))
        try:
            for _ in range(args.repeat):
                for target, url in targets:
                    for run in options:
                        out = await run(url, target, args.jobs, args.concurrency, args.batch)
                        if isinstance(out, str):
                            skipped.add(out)
                        else:
                            results.append(out)
                            print(f"done: {target} {out.option}", flush=True)
        finally:
            if embedded is not None:
                embedded.stop()
    print(f"python {platform.python_version()}, redis-py {redis.__version__}")
    for line in sorted(skipped):
        print(line)
    report(best(results), args.jobs, args.concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--targets", default="machine,embedded")
    parser.add_argument("--options", default="streams,arq,saq")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
