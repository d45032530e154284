"""Ed25519 signatures for the receipts of a batch, made in a separate process.

A signature costs about 24 µs of CPU here (OpenSSL through ``cryptography``), a fifth of what
ingesting a message costs. In the gateway's process it cannot run beside the rest: Python
threads share one interpreter lock, and a signing thread waits for it after every signature
(measured: two to four submitting threads were slower than one, docs/benchmarks.md). A helper
process signs in parallel for real, on another core, while the gateway's process validates
and writes; a batch's receipts go over in chunks as they are made, so by the time the batch is
written its receipts are back.

The helper does a receipt's whole work (digest, payload, encoding, signature:
gateway.privacy.jws), so the gateway's process only hands over the fields. It holds no key:
each chunk carries the 32-byte seed of the key in force, so a key rotation reaches it with the
next chunk. If the helper dies or cannot start, the receipts are made in the gateway's process
instead; nothing is lost, it is only slower.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from gateway.logs import get_logger
from gateway.privacy.jws import ReceiptFields, make_receipts

log = get_logger("gateway.receipts")
CHUNK = 1000  # receipts sent to the helper at once (each hand-over wakes the pool's threads)
MIN_BATCH = 32  # fewer than this: sign in place (the round trip would cost more)
START_TIMEOUT_S = 60.0


class SigningPool:
    """One helper process (more would compete with the gateway's own for the cores)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self.enabled = (os.cpu_count() or 1) > 1

    def start(self) -> None:
        """Start the helper now (a server does at start, so no request waits for it). If it
        cannot start, receipts are signed in process."""
        try:
            with self._lock:
                if self._pool is None and self.enabled and not self._broken:
                    # spawn: a fork of a process with threads may copy a held lock
                    context = multiprocessing.get_context("spawn")
                    self._pool = ProcessPoolExecutor(1, mp_context=context)
                    # the first call imports the helper's modules: pay for it now
                    warm = ("x", "0" * 64, "x", None, None, None)
                    self._pool.submit(make_receipts, bytes(32), "x", [warm]).result(
                        timeout=START_TIMEOUT_S
                    )
        except Exception as exc:  # no helper: slower, nothing else changes
            self.give_up(exc)

    def submit(self, seed: bytes, kid: str, items: list[ReceiptFields]) -> Future[list[str]] | None:
        """The receipts of ``items``, on their way; None when there is no helper."""
        if not self.enabled or self._broken:
            return None
        self.start()
        pool = self._pool
        if pool is None:
            return None
        try:
            return pool.submit(make_receipts, seed, kid, items)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self.give_up(exc)
            return None

    def give_up(self, exc: BaseException) -> None:
        """The helper died, hung or cannot start: sign in process from now on."""
        log.warning(
            "receipt signing helper unavailable: signing in process", error=type(exc).__name__
        )
        with self._lock:
            self._broken = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
