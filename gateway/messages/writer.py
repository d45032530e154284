"""Group commit: one thread writes the submissions of every request of this process.

Each transaction takes all the submissions waiting when it starts, so under load many
requests share one BEGIN … COMMIT instead of queueing for the database one by one. Measured
(docs/benchmarks.md): single-message POSTs through per-request transactions held the SQLite
write lock ~2.5 ms each at 16 concurrent clients, most of it waiting for the GIL between
driver calls; grouped, the per-transaction cost is shared.

A request's result is set only after its transaction committed, so a 202 still means stored.
If a group's transaction fails, each submission of it is written alone, and a submission that
still fails has its items written one by one: one bad item (or a race with another process on
the same message_id) fails alone and cannot sink the others. Whatever an item's content can make
fail (validation, dates the calendar cannot count) is decided before it joins a group.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.errors import ItemFailed
from gateway.logs import get_logger
from gateway.messages.service import Ingestor, ItemResult, Prepared, record_group
from gateway.runtime import Runtime

log = get_logger(__name__)
MAX_GROUP_ITEMS = 2000  # bounds one transaction's size
RETRIES = 3  # per submission, when its transaction failed for a transient reason


@dataclass
class _Job:
    ingestor: Ingestor
    prepared: Sequence[Prepared]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[ItemResult]]


class GroupWriter:
    def __init__(
        self, runtime: Runtime, on_committed: Callable[[list[str]], None] | None = None
    ) -> None:
        """``on_committed`` gets the ids of committed messages that have an outbox row (to
        enqueue them for push delivery; if that fails the reconciler catches up)."""
        self._runtime = runtime
        self._on_committed = on_committed
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="gateway-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def queued(self) -> int:
        """Submissions waiting for the writer thread (approximate, for tests and metrics)."""
        return self._queue.qsize()

    async def record(self, ingestor: Ingestor, prepared: Sequence[Prepared]) -> list[ItemResult]:
        """The pipeline's record step (gateway/messages/pipeline.py): answered once the
        transaction holding these items committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[ItemResult]] = loop.create_future()
        self._queue.put(_Job(ingestor, prepared, loop, future))
        return await future

    # -- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            size = len(job.prepared)
            stop = False
            while size < MAX_GROUP_ITEMS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                size += len(more.prepared)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[_Job]) -> None:
        try:
            results = self._transaction(group)
        except Exception as exc:  # isolate: each request, then each item, is written alone
            if len(group) > 1:
                for job in group:
                    self._write([job])
                return
            _resolve(group[0], self._alone(group[0], exc))
            return
        for job, result in zip(group, results, strict=True):
            _resolve(job, result)

    def _alone(self, job: _Job, first: Exception) -> list[ItemResult]:
        """One request whose transaction failed. A concurrent process may have stored the same
        message_id between our look-up and our insert (IntegrityError), or the database was
        briefly busy: run it again; the second look-up sees the stored row and answers
        duplicate or conflict as usual. If it still fails, write its items one by one, so an
        item the database refuses fails alone (a batch accepts its valid items)."""
        error: Exception = first
        if isinstance(first, IntegrityError | OperationalError):
            for _ in range(RETRIES):
                try:
                    [result] = self._transaction([job])
                except Exception as exc:
                    error = exc
                    continue
                return result
        if len(job.prepared) > 1:
            results: list[ItemResult] = []
            for item in job.prepared:
                results += self._alone(_Job(job.ingestor, [item], job.loop, job.future), error)
            return results
        log.error("submission failed: %s", type(error).__name__)
        [item] = job.prepared
        failed = ItemFailed("item could not be stored / 该报文未能保存")
        return [ItemResult(item.index, item.message_id, error=failed)]

    def _transaction(self, group: list[_Job]) -> list[list[ItemResult]]:
        with self._runtime.writing() as session:
            results, push = record_group(session, [(job.ingestor, job.prepared) for job in group])
            session.commit()
        if push and self._on_committed is not None:
            try:
                self._on_committed(push)
            except Exception as exc:  # the reconciler will enqueue them
                log.warning("enqueue after commit failed: %s", type(exc).__name__)
        return results


def _resolve(job: _Job, outcome: list[ItemResult]) -> None:
    def settle() -> None:
        if job.future.done():  # the request was cancelled (client went away)
            return
        job.future.set_result(outcome)

    job.loop.call_soon_threadsafe(settle)
