"""The one way in for submitted messages: decide → record → after commit.

    decide        ``Ingestor.prepare``: validate against the standard and the division tables
                  in force, authorise the sender, canonicalise, count the item's dates. CPU
                  only; whatever an item's content can make fail fails here, for it alone.
    record        one unit of work: ``record_group`` decides each item against what is stored
                  (idempotency, replies, routing, transfers) and writes it. The group writer
                  is how this runs in a server (many requests share one transaction); the
                  direct recorder is the same unit of work for one caller (the CLI, tests).
    after commit  the hook given at construction: the delivery domain enqueues the ids of the
                  messages to push (gateway/delivery/hooks.py); if that fails, the reconciler
                  catches up from the outbox.

Every submission path (POST /messages, the batch, the adapters' records) goes through
``Submissions.submit``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from fastapi.concurrency import run_in_threadpool

from gateway.errors import MessageInvalid
from gateway.messages.service import Ingestor, ItemResult, Prepared, record_group
from gateway.nodes.service import Principal
from gateway.runtime import Runtime

AfterCommit = Callable[[list[str]], None]  # ids of committed messages with an outbox row


class Recorder(Protocol):
    async def record(
        self, ingestor: Ingestor, prepared: Sequence[Prepared]
    ) -> list[ItemResult]: ...


class DirectRecorder:
    """One transaction per submission, in the caller's thread (no group writer)."""

    def __init__(self, runtime: Runtime, after_commit: AfterCommit | None = None) -> None:
        self._runtime = runtime
        self._after_commit = after_commit

    async def record(self, ingestor: Ingestor, prepared: Sequence[Prepared]) -> list[ItemResult]:
        return await run_in_threadpool(self.record_now, ingestor, prepared)

    def record_now(self, ingestor: Ingestor, prepared: Sequence[Prepared]) -> list[ItemResult]:
        with self._runtime.writing() as session:
            [results], push = record_group(session, [(ingestor, prepared)])
            session.commit()
        if push and self._after_commit is not None:
            self._after_commit(push)
        return results


class Submissions:
    def __init__(self, runtime: Runtime, recorder: Recorder) -> None:
        self._runtime = runtime
        self.recorder = recorder

    def ingestor(self, principal: Principal) -> Ingestor:
        """The decisions of one request of ``principal``, on the parts in force now."""
        runtime = self._runtime
        return Ingestor(
            principal,
            runtime.routing(),
            runtime.reference(),
            runtime.time.now(),
            runtime.settings.person_key_secret.encode(),
            runtime.sealer,
            runtime.receipts,
        )

    def decide(
        self, principal: Principal, items: Sequence[bytes | MessageInvalid]
    ) -> tuple[Ingestor, list[Prepared]]:
        ingestor = self.ingestor(principal)
        return ingestor, ingestor.prepare(items)

    async def submit(
        self, principal: Principal, items: Sequence[bytes | MessageInvalid]
    ) -> list[ItemResult]:
        """Each item's result once its unit of work committed (a 202 means stored). One
        message is decided on the event loop (tens of microseconds: cheaper than a thread
        hop); a batch in a worker thread."""
        if len(items) == 1:
            ingestor, prepared = self.decide(principal, items)
        else:
            ingestor, prepared = await run_in_threadpool(self.decide, principal, items)
        return await self.recorder.record(ingestor, prepared)
