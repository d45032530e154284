"""A key rotation over a large database while submissions continue.

    python -m bench.bench_rotation [--rows 1000000] [--backends sqlite,postgresql]

Seeds ``--rows`` sealed messages (each with its own data key, wrapped by the first key),
measures the batch submission rate for a few seconds, then adds a key-encryption key and
re-wraps every data key (gateway.messages.keys.rewrap, what `gateway keys rotate` runs) while
one client keeps submitting batches of 1,000. Reports the rotation's time and rows per second,
and the submission rate before and during it (their ratio is the rotation's cost to users).
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from bench.common import RESIDENCE, fresh_runtime, notifications, reachable_backends
from gateway.messages import repository
from gateway.messages.keys import rewrap
from gateway.messages.models import MESSAGES
from gateway.messages.pipeline import DirectRecorder, Submissions
from gateway.nodes.service import Principal
from gateway.privacy import keys as privacy_keys
from gateway.privacy.keyfile import new_key
from gateway.runtime import Runtime

SEED_BATCH = 10_000
ENVELOPE = b'{"subject":{"name":"\\u5468\\u79c0\\u5170","id_number":"430582199001010029"}}'


def _seed(runtime: Runtime, rows: int) -> float:
    """Insert ``rows`` sealed messages (metadata minimal, envelope small); seconds taken."""
    start = time.perf_counter()
    now = datetime.now(UTC)
    done = 0
    while done < rows:
        batch = []
        for _ in range(min(SEED_BATCH, rows - done)):
            mid = str(uuid.uuid4())
            sealed = runtime.sealer.seal(mid, ENVELOPE)
            batch.append(
                {
                    "message_id": mid,
                    "type": "notification",
                    "sender": RESIDENCE,
                    "sender_node": RESIDENCE,
                    "content_hash": "0" * 64,
                    "sealed_envelope": sealed.ciphertext,
                    "data_key": sealed.data_key,
                    "kek_id": sealed.kek_id,
                    "state": "closed",
                    "accepted_state": "routed",
                    "delivery": "pulled",
                    "response": "answered_on_time",
                    "accepted_at": now,
                    "due_provisional": False,
                }
            )
        with runtime.engine.begin() as conn:
            conn.execute(insert(MESSAGES), batch)
        done += len(batch)
    return time.perf_counter() - start


class _Submitter(threading.Thread):
    """One client submitting batches of 1,000 without pause; counts what was accepted."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(daemon=True)
        self.runtime = runtime
        self.stop = threading.Event()
        self.marks: list[tuple[float, int]] = []  # (time, accepted so far)

    def run(self) -> None:
        principal = Principal(RESIDENCE, RESIDENCE, "node")
        recorder = DirectRecorder(self.runtime)
        submissions = Submissions(self.runtime, recorder)
        accepted = 0
        self.marks.append((time.perf_counter(), 0))
        while not self.stop.is_set():
            results = recorder.record_now(*submissions.decide(principal, notifications(1000)))
            accepted += sum(1 for r in results if r.accepted is not None)
            self.marks.append((time.perf_counter(), accepted))

    def rate_between(self, start: float, end: float) -> float:
        inside = [(t, n) for t, n in self.marks if start <= t <= end]
        if len(inside) < 2:
            return 0.0
        (t0, n0), (t1, n1) = inside[0], inside[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def run(backend: str, rows: int, before_s: float) -> dict[str, Any]:
    with fresh_runtime(backend) as runtime:
        seed_s = _seed(runtime, rows)
        runtime.receipts.pool.start()
        client = _Submitter(runtime)
        client.start()
        time.sleep(before_s)
        began = time.perf_counter()
        old = runtime.sealer.keys.active().id
        runtime.sealer.keys.add(new_key(privacy_keys.KEK_PREFIX), privacy_keys.KEYRING_HEADER)
        result = rewrap(runtime.sessions, runtime.sealer)
        ended = time.perf_counter()
        client.stop.set()
        client.join(timeout=60)
        with runtime.session() as session:
            left = repository.kek_counts(session).get(old, 0)
        before = client.rate_between(began - before_s, began)
        during = client.rate_between(began, ended)
        return {
            "backend": backend,
            "rows_seeded": rows,
            "seed_s": round(seed_s, 1),
            "rewrapped": result.rows,
            "left_under_old_key": left,
            "rotation_s": round(ended - began, 1),
            "rewrapped_rows_per_s": round(result.rows / (ended - began)),
            "submissions_per_s_before": round(before),
            "submissions_per_s_during": round(during),
            "during_over_before": round(during / before, 3) if before else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--before-s", type=float, default=5.0)
    args = parser.parse_args()
    results = []
    for backend in reachable_backends(args.backends):
        results.append(run(backend, args.rows, args.before_s))
    print(json.dumps({"python": platform.python_version(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
