"""Prometheus metrics of push delivery. Labels are outcomes and node codes, never message
content. Counters live in the process that sends (the worker); the gauges are read from the
database and Redis when scraped, so any process serving /metrics shows the whole picture."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram


@dataclass(frozen=True)
class _Metrics:
    attempts: Counter
    latency: Histogram
    reconciled: Counter


METRICS = _Metrics(
    attempts=Counter(
        "gateway_delivery_attempts",
        "Push delivery attempts by resulting state (delivered, retrying, dead).",
        ["outcome"],
    ),
    latency=Histogram(
        "gateway_delivery_latency_seconds",
        "Time from sending a push to its answer or failure.",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
    reconciled=Counter(
        "gateway_delivery_reconciled",
        "Open deliveries the reconciler put back into Redis (after a flush or a lost enqueue).",
    ),
)
