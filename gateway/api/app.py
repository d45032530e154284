"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request

from adapters.records_router import RecordsService, records_router
from gateway import __version__
from gateway.api import calendar as calendar_endpoints
from gateway.api import health, metrics, openapi, problems, schemas
from gateway.api.context import RequestContext
from gateway.api.deps import node_caller
from gateway.api.limits import BodyLimit
from gateway.api.params import refuse_repeated_parameters
from gateway.delivery.hooks import enqueue_after_commit
from gateway.delivery.queue import DeliveryQueue
from gateway.delivery.worker import DeliveryWorker, http_client
from gateway.embedded_redis import async_redis_client
from gateway.errors import problem_of
from gateway.logs import get_logger
from gateway.messages import endpoints as message_endpoints
from gateway.messages.pipeline import Submissions
from gateway.messages.retention import run_purges
from gateway.messages.writer import GroupWriter
from gateway.nodes.revocation import RevocationFollower
from gateway.nodes.service import Principal
from gateway.privacy import endpoints as privacy_endpoints
from gateway.privacy.retention import rules as retention_rules
from gateway.runtime import Runtime

log = get_logger("gateway.api")

DESCRIPTION = """
流动人口信息交换网关 — 现居住地与户籍地之间的通报、反馈、查询与协查。

Exchange gateway between residence and origin jurisdictions: notifications, feedback, queries
and assist requests, routed by division code, with working-day deadlines. Errors are RFC 9457
`application/problem+json` with an `errors` list of `{field, rule, message}`.
"""


def create_app(runtime: Runtime, *, worker: bool = False) -> FastAPI:
    """The API. With ``worker`` the delivery worker runs in the same event loop (the embedded
    default's single process); otherwise `gateway worker` processes do the pushing."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime.reference()  # built before serving, not on the event loop by the first request
        queue = None
        redis_async = None
        if runtime.redis_url:
            redis_async = async_redis_client(runtime.redis_url, runtime.settings)
            queue = DeliveryQueue(redis_async, claim_idle_ms=_claim_idle_ms(runtime))
        app.state.queue = queue

        # the one way in: decide → record (the group writer) → after commit (enqueue)
        writer = GroupWriter(runtime, enqueue_after_commit(queue, loop))
        writer.start()
        app.state.submissions = Submissions(runtime, writer)
        stop = asyncio.Event()
        # revoked tokens leave this process's cache at once (gateway/nodes/revocation.py)
        follower = None
        follower_task = None
        if runtime.redis_url and runtime.settings.token_cache_s > 0:
            follower = RevocationFollower(
                runtime.redis_url, runtime.tokens, runtime.settings.redis_timeout_s
            )
            await follower.subscribe()  # before serving; if Redis is away, run() retries
            follower_task = asyncio.create_task(follower.run(stop), name="token-revocations")
        # personal data past its retention is purged (docs/privacy.md)
        purge_task = asyncio.create_task(
            run_purges(
                runtime.sessions,
                retention_rules(runtime.settings.retention_days),
                runtime.time.now,
                runtime.settings.retention_check_s,
                stop,
            ),
            name="retention",
        )
        worker_task = None
        if worker and queue is not None:
            client = http_client(
                runtime.settings.delivery_timeout_s, runtime.settings.delivery_concurrency
            )
            delivery = DeliveryWorker(runtime, queue, client)
            worker_task = asyncio.create_task(delivery.run(stop), name="delivery-worker")
        try:
            yield
        finally:
            writer.stop()  # finishes what is queued: nothing accepted is dropped
            stop.set()
            await purge_task
            if worker_task is not None:
                await worker_task
                await client.aclose()
            if follower is not None and follower_task is not None:
                follower_task.cancel()  # it may be waiting up to a second for a notice
                await asyncio.gather(follower_task, return_exceptions=True)
                await follower.aclose()
            if redis_async is not None:
                await redis_async.aclose()

    app = FastAPI(
        title="Exchange gateway / 流动人口信息交换网关",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_repeated_parameters)],
    )
    app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(
        BodyLimit,
        default=runtime.settings.max_body_bytes,
        batch=runtime.settings.max_batch_body_bytes,
    )
    # added last, so outermost: every line written for the request carries its id
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(message_endpoints.router)
    app.include_router(calendar_endpoints.router)
    app.include_router(privacy_endpoints.router)
    app.include_router(_records_router(runtime))
    openapi.install(app)
    return app


def _claim_idle_ms(runtime: Runtime) -> int:
    """A crashed worker's jobs are handed out again when its database lease has ended."""
    return int(runtime.settings.delivery_lease_s * 1000)


def _records_router(runtime: Runtime) -> APIRouter:
    """The adapters' records endpoint (PROTOCOL §8.1), given what belongs to the gateway."""

    async def submit(
        request: Request, caller: Principal, bodies: Sequence[bytes], paths: Sequence[str]
    ) -> list[dict[str, Any]]:
        results = await message_endpoints.ingest(request, caller, bodies)
        return [
            message_endpoints.item_answer(result, path)
            for result, path in zip(results, paths, strict=True)
        ]

    return records_router(
        RecordsService(
            caller=node_caller,
            submit=submit,
            registry=lambda: runtime.registry,
            max_items=runtime.settings.max_batch_items,
            problem_of=problem_of,
            responses={
                **openapi.success(
                    schemas.RecordsResult, 200, "逐条结果 / one result per record, in order"
                ),
                **openapi.problems(401, 403, 404, 413),
            },
            openapi_extra=openapi.list_body(
                "records",
                "本地原始记录（列名→值）；最多1000条 / the county's own records (column → "
                "value); at most GATEWAY_MAX_BATCH_ITEMS (1,000), else 413",
                {"type": "object"},
            ),
        )
    )
