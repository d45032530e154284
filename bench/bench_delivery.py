"""Push delivery (issue 4): one worker's delivery rate against a plain load generator, the
drain of a backlog after a receiver outage, and Redis round trips per delivered message.

    .venv/bin/python -m bench.bench_delivery [--messages 3000] [--drain 20000] [--postgres]

Receiver (every measurement, same run): a minimal ASGI app (reads the body, answers 200 with
no body) under uvicorn (h11, one process) in a child process, so it shares no GIL with what
loads it. Its capacity is shown by wrk (when installed) posting the same envelope.

1. Rate. Messages are stored through the ingest service (``Ingestor.prepare`` +
   ``record_group``: exactly what POST /api/v1/messages/batch does below HTTP, which writes the
   outbox rows), 1,000 per transaction, then enqueued 1,000 ids per call as the API does after
   its commits. One in-process ``DeliveryWorker`` (default settings: 32 attempts in flight)
   delivers them; its rate is the count over the span from the first attempt's start to the
   last ``delivered_at`` in the database. Baseline: an ``httpx.AsyncClient`` built by the
   worker's own ``http_client()`` with the same concurrency posting the same envelopes with the
   same headers (no queue, no database), run before and after the worker; the better of the two
   is the baseline. Every message is about its own (synthetic) person: pushes about one person
   are serialised by design, which is not what this measures.
2. Round trips. The worker's Redis client counts every command it sends (one command, one
   round trip: the queue uses no pipelines), over the whole run, divided by the messages; the
   enqueue calls are counted apart. On the embedded Redis, INFO commandstats deltas give the
   commands Redis executed, including those inside the Lua scripts.
3. Drain. A fresh embedded stack; the backlog is stored and enqueued as in 1. A ``gateway
   worker`` process starts while the receiver's port is closed (connection refused: retries
   with backoff, GATEWAY_DELIVERY_BACKOFF_BASE_S=1, _CAP_S=10), the receiver comes up after the
   outage, and the time until the database says all are delivered is measured; the worker's RSS
   is sampled every 0.5 s (psutil). 100,000 messages take about 20 minutes on a 2-core machine:
   the default is 20,000, with a linear extrapolation that is a lower bound (each claim's
   look-up of earlier messages about the same person scans the whole open backlog).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed (types-psutil)
import redis
import redis.asyncio
import sqlalchemy
import uvicorn
from sqlalchemy import func, select

from bench.common import EXAMPLES, ORIGIN, PG_URL, RESIDENCE, pg_available
from gateway.db.migrate import upgrade
from gateway.delivery.models import ATTEMPTS, DELIVERIES
from gateway.delivery.queue import DeliveryQueue
from gateway.delivery.worker import DeliveryWorker, http_client
from gateway.embedded_redis import EmbeddedRedis, async_redis_client
from gateway.messages.models import MESSAGES
from gateway.messages.pipeline import DirectRecorder, Submissions
from gateway.messages.service import record_group
from gateway.nodes.service import Principal, add_node
from gateway.runtime import Runtime
from gateway.settings import Settings

BATCH = 1000
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
GATEWAY_CLI = Path(sys.executable).with_name("gateway")
RSS_PERIOD_S = 0.5

RECEIVER = r"""
import sys

import uvicorn


async def app(scope, receive, send):
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""

# -- synthetic messages ------------------------------------------------------------------------
_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"
_DAYS = 12_000  # birth dates 1960-01-01 … 1992-11-08


def _id_number(prefix: str, born: date, seq: int) -> str:
    body = f"{prefix}{born:%Y%m%d}{seq:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def notifications(count: int) -> list[bytes]:
    """``count`` pregnancy notifications, each about its own made-up woman (valid ID)."""
    template = json.loads((EXAMPLES / "notification.pregnancy.json").read_text("utf-8"))
    out = []
    for i in range(count):
        born = date(1960, 1, 1) + timedelta(days=i % _DAYS)
        template["message_id"] = str(uuid.uuid4())
        template["subject"]["id_number"] = _id_number(ORIGIN, born, 2 + 2 * (i // _DAYS))
        template["subject"]["birth_date"] = born.isoformat()
        out.append(json.dumps(template, ensure_ascii=False).encode())
    return out


# -- stacks ------------------------------------------------------------------------------------
@dataclass
class Stack:
    name: str
    runtime: Runtime
    redis_url: str
    prefix: str  # the delivery queue's key prefix
    shared_redis: bool  # the machine's Redis: other clients' commands show in its stats


def _register(runtime: Runtime, endpoint: str) -> None:
    with runtime.session() as session:
        for code, url in ((RESIDENCE, None), (ORIGIN, endpoint)):
            add_node(
                session,
                code=code,
                name=code,
                role="node",
                endpoint=url,
                now=runtime.time.now(),
                divisions=runtime.registry,
            )
        session.commit()
    runtime.invalidate_routing()


@contextmanager
def embedded_stack(endpoint: str) -> Iterator[Stack]:
    """A SQLite file and an embedded Redis of our own, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="gw-bench-delivery-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "data")
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{tmp}/gateway.db",
            redis_url=server.url,
        )
        runtime = Runtime.create(settings)
        try:
            upgrade(runtime.engine)
            _register(runtime, endpoint)
            yield Stack("sqlite+embedded-redis", runtime, server.url, "gw:delivery", False)
        finally:
            runtime.close()
            server.stop()


@contextmanager
def services_stack(endpoint: str) -> Iterator[Stack]:
    """A fresh PostgreSQL schema and the machine's Redis under a key prefix of our own."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    prefix = f"bench:delivery:{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    settings = Settings(
        database_url=f"{PG_URL}?options=-csearch_path%3D{schema}", redis_url=MACHINE_REDIS
    )
    runtime = Runtime.create(settings)
    try:
        upgrade(runtime.engine)
        _register(runtime, endpoint)
        yield Stack("postgresql+machine-redis", runtime, MACHINE_REDIS, prefix, True)
    finally:
        runtime.close()
        client = redis.Redis.from_url(MACHINE_REDIS)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ingest(runtime: Runtime, items: list[bytes]) -> list[str]:
    """Store the messages as POST /api/v1/messages/batch does below HTTP, 1,000 per
    transaction; returns the ids that got an outbox row (all of them)."""
    principal = Principal(RESIDENCE, RESIDENCE, "node")
    pushed: list[str] = []
    for i in range(0, len(items), BATCH):
        ingestor, prepared = Submissions(runtime, DirectRecorder(runtime)).decide(
            principal, items[i : i + BATCH]
        )
        with runtime.writing() as session:
            _results, push = record_group(session, [(ingestor, prepared)])
            session.commit()
        pushed.extend(push)
    if len(pushed) != len(items):
        raise RuntimeError(f"only {len(pushed)} of {len(items)} messages were routed for push")
    return pushed


async def enqueue_all(queue: DeliveryQueue, ids: list[str]) -> None:
    for i in range(0, len(ids), BATCH):
        await queue.enqueue(ids[i : i + BATCH])


def delivered_count(runtime: Runtime) -> int:
    with runtime.session() as session:
        stmt = select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.state == "delivered")
        return int(session.execute(stmt).scalar_one())


def attempt_count(runtime: Runtime) -> int:
    with runtime.session() as session:
        return int(session.execute(select(func.count()).select_from(ATTEMPTS)).scalar_one())


def delivery_span_s(runtime: Runtime) -> float:
    """From the first attempt's start to the last delivery's record, by the database."""
    with runtime.session() as session:
        first: datetime = session.execute(select(func.min(ATTEMPTS.c.started_at))).scalar_one()
        last: datetime = session.execute(select(func.max(DELIVERIES.c.delivered_at))).scalar_one()
    return (last - first).total_seconds()


# -- receiver and load generator ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receiver(port: int) -> Iterator[float]:
    """The receiver in a child process; yields the moment it accepted its first connection."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(port)],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.02)
        yield time.monotonic()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def envelopes(runtime: Runtime, ids: list[str]) -> list[tuple[str, bytes]]:
    wanted = set(ids)
    with runtime.session() as session:
        rows = session.execute(select(MESSAGES.c.message_id, MESSAGES.c.envelope))
        return [(mid, env.encode()) for mid, env in rows if mid in wanted]


async def load_generator(url: str, items: list[tuple[str, bytes]], concurrency: int) -> float:
    """Posts per second: ``concurrency`` tasks sharing one client, each posting the next
    envelope as soon as its last one was answered, with the worker's headers."""
    queue = iter(items)
    failures = 0

    async def poster(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for message_id, body in queue:
            response = await client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Gateway-Message-Id": message_id,
                    "Gateway-Delivery-Id": f"{message_id}/1",
                },
            )
            failures += not 200 <= response.status_code < 300

    async with http_client(10.0, concurrency) as client:
        start = time.perf_counter()
        await asyncio.gather(*(poster(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"load generator: {failures} non-2xx answers")
    return len(items) / elapsed


def receiver_capacity(port: int, body: bytes, seconds: int = 5) -> float | None:
    """What the receiver answers to wrk (C, 1 thread, 32 connections) posting ``body``: shows
    the receiver is not what limits the Python clients. None when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        (Path(tmp) / "body.json").write_bytes(body)
        script.write_text(
            f'local f = io.open("{tmp}/body.json", "rb")\n'
            "wrk.method = 'POST'\nwrk.body = f:read('*a')\nf:close()\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
        )
        out = subprocess.run(
            [wrk, "-t1", "-c32", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else None


# -- 1 and 2: rate and round trips --------------------------------------------------------------
def counting(client: redis.asyncio.Redis) -> Counter[str]:
    """Count the commands ``client`` sends, by name (EVALSHA by its sha)."""
    counts: Counter[str] = Counter()
    send = client.execute_command

    async def execute_command(*args: Any, **options: Any) -> Any:
        name = str(args[0]).upper()
        counts[f"EVALSHA {args[1]}" if name == "EVALSHA" else name] += 1
        return await send(*args, **options)  # type: ignore[no-untyped-call]  # redis-py's

    client.execute_command = execute_command  # type: ignore[method-assign]  # counting shim
    return counts


def commandstats(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        stats: dict[str, dict[str, int]] = client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    finally:
        client.close()


async def worker_rate(stack: Stack, count: int, port: int) -> dict[str, Any]:
    """``stack``'s receiving node has its endpoint on ``port``."""
    runtime = stack.runtime
    settings = runtime.settings
    ids = ingest(runtime, notifications(count))
    items = envelopes(runtime, ids)
    url = f"http://127.0.0.1:{port}/gateway/inbox"
    concurrency = settings.delivery_concurrency
    with receiver(port):
        capacity = receiver_capacity(port, items[0][1])
        baseline = [await load_generator(url, items, concurrency)]

        client = async_redis_client(stack.redis_url, settings)
        counts = counting(client)
        queue = DeliveryQueue(client, prefix=stack.prefix)
        script_names = {
            queue._enqueue.sha: "enqueue",  # to name them in the report
            queue._take.sha: "take",
            queue._done.sha: "done",
            queue._schedule.sha: "schedule",
            queue._promote.sha: "promote",
            queue._depth.sha: "depth",
        }
        await queue.ensure()
        await enqueue_all(queue, ids)
        enqueue_calls = sum(counts.values())
        counts.clear()
        before = None if stack.shared_redis else commandstats(stack.redis_url)

        web = http_client(settings.delivery_timeout_s, concurrency)
        worker = DeliveryWorker(runtime, queue, web)
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run(stop))
        while await asyncio.to_thread(delivered_count, runtime) < count:
            if task.done():
                task.result()
                raise RuntimeError("worker stopped")
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - started
        stop.set()
        await task
        await web.aclose()
        after = None if stack.shared_redis else commandstats(stack.redis_url)
        await client.aclose()

        baseline.append(await load_generator(url, items, concurrency))

    span = delivery_span_s(runtime)
    rate = count / span
    worker_calls = sum(counts.values())
    by_command: dict[str, int] = {}
    for key, calls in counts.most_common():
        name, _, sha = key.partition(" ")
        by_command[f"{name} {script_names.get(sha, sha)}".strip()] = calls
    result: dict[str, Any] = {
        "stack": stack.name,
        "messages": count,
        "concurrency": concurrency,
        "worker_deliveries_per_s": round(rate, 1),
        "worker_wall_s_from_start": round(wall, 2),
        "load_generator_posts_per_s": [round(b, 1) for b in baseline],
        "ratio": round(rate / max(baseline), 3),
        "ratio_goal": 0.3,
        "receiver_capacity_wrk_per_s": None if capacity is None else round(capacity),
        "attempt_rows": attempt_count(runtime),
        "redis_round_trips_per_message": round((worker_calls + enqueue_calls) / count, 3),
        "redis_round_trips_per_message_worker": round(worker_calls / count, 3),
        "redis_round_trips_per_message_enqueue": round(enqueue_calls / count, 4),
        "redis_round_trips_goal": 5,
        "worker_commands": by_command,
    }
    if before is not None and after is not None:
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        delta.pop("info", None)  # our own INFO call
        result["redis_commands_executed_per_message_incl_scripts"] = round(
            sum(delta.values()) / count, 2
        )
    return result


# -- 3: drain after an outage --------------------------------------------------------------------
class RssSampler:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []  # (monotonic, rss bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic(), self.process.memory_info().rss))
            self._stop.wait(RSS_PERIOD_S)

    def between(self, start: float, end: float) -> list[int]:
        return [rss for t, rss in self.samples if start <= t <= end]

    def latest(self) -> int:
        return self.samples[-1][1] if self.samples else 0


@contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`gateway worker` as a child process, its output in ``log_path``; SIGTERM at the end."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(GATEWAY_CLI), "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _mib(value: int) -> float:
    return round(value / (1 << 20), 1)


def drain(count: int, outage_s: float, timeout_s: float) -> dict[str, Any]:
    port = free_port()  # nothing listens on it until the outage ends: connection refused
    url = f"http://127.0.0.1:{port}/gateway/inbox"
    with embedded_stack(url) as stack:
        runtime = stack.runtime
        t0 = time.perf_counter()
        ids = ingest(runtime, notifications(count))
        ingest_s = time.perf_counter() - t0

        async def fill() -> None:
            client = async_redis_client(stack.redis_url, runtime.settings)
            try:
                await enqueue_all(DeliveryQueue(client), ids)
            finally:
                await client.aclose()

        asyncio.run(fill())
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": runtime.settings.resolved_database_url(),
            "GATEWAY_REDIS_URL": stack.redis_url,
            "GATEWAY_DATA_DIR": str(runtime.settings.data_dir),
            "GATEWAY_DELIVERY_BACKOFF_BASE_S": "1",
            "GATEWAY_DELIVERY_BACKOFF_CAP_S": "10",
        }
        progress: list[dict[str, Any]] = []
        log_path = runtime.settings.data_dir / "worker.log"
        with worker_process(env, log_path) as worker, RssSampler(worker.pid) as rss:
            deadline = time.monotonic() + 60
            while attempt_count(runtime) == 0:  # the worker is up and failing
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("worker did not start: " + log_path.read_text()[-2000:])
                time.sleep(0.2)
            rss_at_start = rss.latest()
            time.sleep(outage_s)
            outage_attempts = attempt_count(runtime)
            with receiver(port) as up:
                rss_at_up = rss.latest()
                next_report = 0.0
                while (done := delivered_count(runtime)) < count:
                    now = time.monotonic()
                    if worker.poll() is not None:
                        raise RuntimeError("worker exited: " + log_path.read_text()[-2000:])
                    if now - up > timeout_s:
                        break
                    if now >= next_report:
                        progress.append(
                            {
                                "s": round(now - up, 1),
                                "delivered": done,
                                "rss_mib": _mib(rss.latest()),
                            }
                        )
                        _note(progress[-1])
                        next_report = now + 10
                    time.sleep(0.5)
                finished = time.monotonic()
                drain_s = finished - up
                during = rss.between(up, finished) or [rss_at_up]
                rss_end = rss.latest()
        delivered = delivered_count(runtime)
    result: dict[str, Any] = {
        "stack": "sqlite+embedded-redis, `gateway worker` process",
        "backlog": count,
        "ingest_s": round(ingest_s, 1),
        "outage_s": outage_s,
        "attempts_during_outage": outage_attempts,
        "delivered": delivered,
        "drain_s": round(drain_s, 1),
        "drain_rate_per_s": round(delivered / drain_s, 1),
        "rss_mib_at_first_attempt": _mib(rss_at_start),
        "rss_mib_at_receiver_up": _mib(rss_at_up),
        "rss_mib_peak_during_drain": _mib(max(during)),
        "rss_mib_end": _mib(rss_end),
        "progress": progress,
    }
    if delivered < count:
        result["incomplete"] = f"stopped after {timeout_s:.0f} s"
    if count < 100_000:
        # a lower bound: each claim scans the open backlog (see docs/benchmarks.md)
        result["extrapolated_100k_drain_s_linear_lower_bound"] = round(drain_s * 100_000 / count)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="for the rate run; 0: skip")
    parser.add_argument(
        "--drain", type=int, default=20_000, help="backlog size (100000 takes ~20 min); 0: skip"
    )
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the receiver is down")
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL + machine Redis")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "receiver": f"raw ASGI app under uvicorn {uvicorn.__version__} (h11), a child process",
        "rate": [],
    }
    port = free_port()
    if args.messages:
        with embedded_stack(f"http://127.0.0.1:{port}/gateway/inbox") as stack:
            result["rate"].append(asyncio.run(worker_rate(stack, args.messages, port)))
        _note(result["rate"][-1])
    if args.messages and args.postgres:
        if pg_available():
            with services_stack(f"http://127.0.0.1:{port}/gateway/inbox") as stack:
                result["rate"].append(asyncio.run(worker_rate(stack, args.messages, port)))
            _note(result["rate"][-1])
        else:
            _note("skip postgresql: not reachable")
    if args.drain:
        result["drain"] = drain(args.drain, args.outage, args.drain_timeout)
    print(json.dumps(result, indent=2))


def _note(item: object) -> None:
    """Partial results on stderr while the rest runs."""
    print(json.dumps(item), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
