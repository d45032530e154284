"""`GET /metrics`: Prometheus text format.

Counters (attempts by outcome, latency) come from this process's registry; the gauges are
read from the database and Redis at scrape time: queue depth, retry backlog, dead per node.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.api.deps import RuntimeDep
from gateway.api.openapi import problems
from gateway.delivery import repository
from gateway.delivery.queue import DeliveryQueue
from gateway.messages.lifecycle import OPEN_OUTBOX
from gateway.runtime import Runtime

router = APIRouter(tags=["ops"])


def _database_gauges(runtime: Runtime) -> tuple[dict[str, int], dict[str, int]]:
    with runtime.session() as session:
        return repository.state_counts(session), repository.dead_counts(session)


@router.get(
    "/metrics",
    summary="Prometheus 指标 / metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        },
        **problems(),
    },
)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    states, dead = await run_in_threadpool(_database_gauges, runtime)
    families = []
    backlog = GaugeMetricFamily(
        "gateway_delivery_open", "Deliveries not yet settled, by state.", labels=["state"]
    )
    for state in OPEN_OUTBOX:
        backlog.add_metric([str(state)], states.get(state, 0))
    families.append(backlog)
    dead_family = GaugeMetricFamily(
        "gateway_delivery_dead",
        "Dead deliveries per node (console re-queues them).",
        labels=["node"],
    )
    for node, count in sorted(dead.items()):
        dead_family.add_metric([node], count)
    families.append(dead_family)
    queue: DeliveryQueue | None = request.app.state.queue
    if queue is not None:
        depth_family = GaugeMetricFamily(
            "gateway_queue_depth", "Message ids in Redis, by place.", labels=["place"]
        )
        try:
            depth = await queue.depth()
            depth_family.add_metric(["ready"], depth.ready)
            depth_family.add_metric(["delayed"], depth.delayed)
            depth_family.add_metric(["in_flight"], depth.in_flight)
            families.append(depth_family)
        except Exception:  # noqa: S110  # Redis away: /readyz says so; no gauge
            pass
    scraped = CollectorRegistry()
    scraped.register(_Snapshot(families))
    return Response(generate_latest() + generate_latest(scraped), media_type=CONTENT_TYPE_LATEST)


class _Snapshot(Collector):
    """The gauges read at this scrape, in a throwaway registry."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families
