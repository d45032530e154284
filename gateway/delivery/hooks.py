"""The delivery domain's after-commit hook for the submission pipeline: committed messages
with an outbox row are enqueued for push at once. A hook that cannot reach Redis only logs:
the reconciler restores the queue from the outbox (the database is the record)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.delivery.queue import DeliveryQueue
from gateway.logs import get_logger

log = get_logger("gateway.delivery")


def enqueue_after_commit(
    queue: DeliveryQueue | None, loop: asyncio.AbstractEventLoop
) -> Callable[[list[str]], None]:
    """A hook the writer thread calls after each commit; it schedules the enqueue on
    ``loop`` (the server's event loop, where the async Redis client lives)."""

    def hook(ids: list[str]) -> None:
        if queue is not None:
            asyncio.run_coroutine_threadsafe(_enqueue(queue, ids), loop)

    return hook


async def _enqueue(queue: DeliveryQueue, ids: list[str]) -> None:
    try:
        await queue.enqueue(ids)
    except Exception as exc:  # Redis away: the reconciler restores them
        log.warning("enqueue for push failed (%d messages): %s", len(ids), type(exc).__name__)
