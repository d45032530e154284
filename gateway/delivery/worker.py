"""The delivery worker: takes message ids from Redis, sends each to its node's endpoint,
and records every attempt in the database.

One round: take a batch of jobs → claim them in one transaction (lease; hold back what
must wait) → POST them concurrently → record all outcomes in one transaction → reschedule
the retries in Redis and acknowledge the jobs. The database is written before Redis is told,
so a crash at any point leaves either a job Redis still holds (claimed again after the
lease) or a delivery the database already settled (acknowledged and dropped when seen).
Beside the rounds run two loops: one moves due retries into the ready stream, the other
(the reconciler) re-enqueues anything the database says is open and Redis does not hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from standardwebhooks.webhooks import Webhook

from gateway.audit import chain as audit
from gateway.audit.chain import Actor
from gateway.delivery import repository
from gateway.delivery import service as delivery_service
from gateway.delivery.metrics import METRICS
from gateway.delivery.policy import (
    DELIVERED,
    PERMANENT,
    RETRY,
    Verdict,
    judge_error,
    judge_status,
    next_delay_s,
)
from gateway.delivery.queue import DeliveryQueue, Job
from gateway.delivery.repository import Claimed, Outcome
from gateway.logs import get_logger
from gateway.messages.envelopes import open_envelope
from gateway.messages.lifecycle import Outbox
from gateway.nodes.push_endpoint import UNRESOLVABLE, EndpointGuard, NetworkPolicy, redact
from gateway.nodes.push_secret import push_secret
from gateway.nodes.service import signing_versions
from gateway.runtime import Runtime

log = get_logger("gateway.delivery")
ROUNDS_IN_FLIGHT = 4
RECONCILE_PAGE = 1000


class DeliveryWorker:
    def __init__(
        self,
        runtime: Runtime,
        queue: DeliveryQueue,
        client: httpx.AsyncClient,
        *,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.queue = queue
        self.client = client
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.rng = rng or random.Random()  # noqa: S311  # jitter, not secrets
        self.batch = max(1, self.settings.delivery_concurrency // ROUNDS_IN_FLIGHT)
        # (node row id, code, secret version) → its signer; derived once each. The versions
        # come with every claim, so a rotation takes effect at the next push, no restart.
        self._signers: dict[tuple[int, str, int], Webhook] = {}
        # where pushes may go (GATEWAY_ENDPOINT_ALLOWED_NETWORKS), checked before each one
        self.guard = EndpointGuard(
            NetworkPolicy.of(
                self.settings.endpoint_allowed_networks,
                production=self.settings.env == "production",
            ),
            timeout_s=self.settings.endpoint_resolve_timeout_s,
            cache_s=self.settings.endpoint_check_cache_s,
        )

    def now(self) -> datetime:
        return self.runtime.time.now()

    # -- loops ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        await self.queue.ensure()
        await self.reconcile()
        tasks = [
            asyncio.create_task(self._consume(stop), name="delivery-consume"),
            asyncio.create_task(self._every(stop, 0.5, self._promote), name="delivery-promote"),
            asyncio.create_task(
                self._every(stop, self.settings.delivery_reconcile_s, self.reconcile),
                name="delivery-reconcile",
            ),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, stop: asyncio.Event, period: float, step: object) -> None:
        while not stop.is_set():
            try:
                await step()  # type: ignore[operator]  # an async callable of no arguments
            except Exception as exc:  # Redis or the database down: try again
                log.warning("delivery loop step failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=period)

    async def _promote(self) -> None:
        await self.queue.promote_due(self.now().timestamp())

    async def _consume(self, stop: asyncio.Event) -> None:
        slots = asyncio.Semaphore(ROUNDS_IN_FLIGHT)
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            await slots.acquire()
            try:
                jobs = await self.queue.take(self.name, self.batch, block_ms=500)
            except Exception as exc:  # Redis away: the reconciler restores
                slots.release()
                log.warning("taking jobs failed: %s", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if not jobs:
                slots.release()
                continue
            task = asyncio.create_task(self._round_guarded(jobs, slots))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    async def _round_guarded(self, jobs: list[Job], slots: asyncio.Semaphore) -> None:
        try:
            await self.round(jobs)
        except Exception as exc:  # jobs stay pending in Redis: claimed again
            log.warning("delivery round failed: %s", type(exc).__name__)
        finally:
            slots.release()

    # -- one round --------------------------------------------------------------------------
    async def round(self, jobs: Sequence[Job]) -> None:
        by_id = {job.message_id: job for job in jobs}
        now = self.now()
        claim = await asyncio.to_thread(self._claim, list(by_id), now)
        for message_id, at in claim.deferred:
            await self.queue.schedule(message_id, at.timestamp())
        outcomes = await asyncio.gather(*(self._send(c) for c in claim.claimed))
        await asyncio.to_thread(self._record, outcomes)
        for outcome in outcomes:
            if outcome.state == Outbox.RETRYING and outcome.next_attempt_at is not None:
                await self.queue.schedule(outcome.message_id, outcome.next_attempt_at.timestamp())
        for job in jobs:
            await self.queue.done(job)

    def _claim(self, message_ids: list[str], now: datetime) -> repository.ClaimResult:
        with self.runtime.writing() as session:
            result = repository.claim(
                session,
                message_ids,
                owner=self.name,
                now=now,
                lease_s=self.settings.delivery_lease_s,
                pause_recheck_s=self.settings.delivery_pause_recheck_s,
            )
            result = dataclasses.replace(result, claimed=[self._opened(c) for c in result.claimed])
            # the disclosure is on record before anything is sent, or nothing is sent
            by_node: dict[str, list[str]] = {}
            for c in result.claimed:
                by_node.setdefault(c.node_code, []).append(c.message_id)
            for node, ids in by_node.items():
                audit.record(session, now, Actor("node", node), "push", ids, "POST push endpoint")
            session.commit()
        return result

    def _opened(self, item: Claimed) -> Claimed:
        body = open_envelope(self.runtime.sealer, item)
        return dataclasses.replace(item, body=body, envelope=None, sealed_envelope=None)

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        with self.runtime.writing() as session:
            delivery_service.record_outcomes(session, outcomes, owner=self.name, now=self.now())
            session.commit()
        for o in outcomes:
            METRICS.attempts.labels(outcome=o.state).inc()

    def _signer(self, item: Claimed, version: int) -> Webhook:
        key = (item.node_id, item.node_code, version)
        signer = self._signers.get(key)
        if signer is None:
            secret = push_secret(
                self.settings.push_signing_key, item.node_id, item.node_code, version
            )
            signer = self._signers[key] = Webhook(secret)
        return signer

    def _headers(self, item: Claimed, at: datetime) -> dict[str, str]:
        """The push's headers, signed (Standard Webhooks) over the envelope as sent: with the
        node's current secret, and during a rotation's overlap also with the previous one
        (space-separated signatures; a receiver accepts if any matches)."""
        seconds = int(at.timestamp())
        # Webhook.sign reads the datetime's wall clock as UTC (replace(tzinfo=utc)): give it
        # a UTC one, whole seconds, so the signature covers exactly the timestamp header
        signed_at = datetime.fromtimestamp(seconds, UTC)
        versions = signing_versions(
            item.push_secret_version,
            item.push_secret_previous_version,
            item.push_secret_overlap_until,
            at,
        )
        signatures = " ".join(
            self._signer(item, v).sign(item.message_id, signed_at, item.body.decode())
            for v in versions
        )
        return {
            "Content-Type": "application/json",
            "Gateway-Message-Id": item.message_id,
            "Gateway-Delivery-Id": f"{item.message_id}/{item.attempt_no}",
            "webhook-id": item.message_id,
            "webhook-timestamp": str(seconds),
            "webhook-signature": signatures,
        }

    async def _send(self, item: Claimed) -> Outcome:
        started = self.now()
        begin = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            refusal = await self.guard.refusal(item.endpoint)
            if refusal is not None:  # not sent: an address not allowed, or a bad old URL
                verdict = Verdict(RETRY if refusal == UNRESOLVABLE else PERMANENT, refusal)
                error = refusal
            else:
                response = await self.client.post(
                    item.endpoint,
                    # the UTF-8 bytes of the very string signed in _headers
                    content=item.body,
                    headers=self._headers(item, started),
                )
                status = response.status_code
                verdict = judge_status(status, response.headers.get("retry-after"), started)
        except Exception as exc:
            # Not only httpx.HTTPError: httpx raises InvalidURL (e.g. a port that is no
            # number) outside that tree, and anyio an ExceptionGroup(OverflowError) for a
            # port out of range, both for endpoints registration accepts. Escaping here they
            # failed the whole round: no attempt row, and the outcomes of the other messages
            # in it (some already delivered) were lost, so those were sent again later.
            # judge_error names InvalidURL permanent and retries the rest.
            verdict = judge_error(exc)
            error = verdict.reason
        latency_ms = int((time.perf_counter() - begin) * 1000)
        METRICS.latency.observe(latency_ms / 1000)
        state, next_at = self._decide(verdict, item, started)
        with structlog.contextvars.bound_contextvars(
            message_id=item.message_id, node=item.node_code
        ):
            log.info(
                "delivery attempt",
                attempt=item.attempt_no,
                status=status,
                error=error,
                result=str(state),
            )
        return Outcome(
            message_id=item.message_id,
            node_code=item.node_code,
            endpoint=redact(item.endpoint),
            attempt_no=item.attempt_no,
            started_at=started,
            latency_ms=latency_ms,
            status_code=status,
            error=error,
            state=state,
            next_attempt_at=next_at,
        )

    def _decide(
        self, verdict: Verdict, item: Claimed, started: datetime
    ) -> tuple[str, datetime | None]:
        if verdict.kind == DELIVERED:
            return Outbox.DELIVERED, None
        if verdict.kind == PERMANENT:
            return Outbox.DEAD, None
        delay = next_delay_s(
            verdict,
            item.attempt_no,
            self.settings.delivery_backoff_base_s,
            self.settings.delivery_backoff_cap_s,
            self.rng,
        )
        next_at = self.now() + timedelta(seconds=delay)
        if next_at - item.window_start > timedelta(seconds=self.settings.delivery_give_up_s):
            return Outbox.DEAD, None
        return Outbox.RETRYING, next_at

    # -- reconciler ---------------------------------------------------------------------------
    async def reconcile(self) -> int:
        """Give Redis back every open delivery it does not hold (after a flush, a restart, or
        an enqueue that failed after its commit). Returns how many were restored."""
        restored = 0
        after = ""
        now = self.now().timestamp()
        while True:
            page = await asyncio.to_thread(self._open_page, after)
            if not page:
                break
            held = await self.queue.held([i for i, _ in page])
            missing = [(i, at) for i, at in page if i not in held]
            ready = [i for i, at in missing if at.timestamp() <= now]
            if ready:
                await self.queue.enqueue(ready)
            for message_id, at in missing:
                if at.timestamp() > now:
                    await self.queue.schedule(message_id, at.timestamp())
            restored += len(missing)
            after = page[-1][0]
        if restored:
            log.info("reconciler restored %d deliveries to the queue", restored)
        METRICS.reconciled.inc(restored)
        return restored

    def _open_page(self, after: str) -> list[tuple[str, datetime]]:
        with self.runtime.session() as session:
            return repository.open_deliveries(session, after, RECONCILE_PAGE)


def http_client(settings_timeout_s: float, concurrency: int) -> httpx.AsyncClient:
    """The worker's HTTP client: explicit timeouts, a bounded pool, no redirects (a receiver
    that redirects is misconfigured: that shows as a 3xx, a permanent failure)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings_timeout_s),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
    )
