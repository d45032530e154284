"""Batch ingest end to end against a raw insert of the same rows into the same database.

    python -m bench.bench_ingest [--messages 20000] [--backends sqlite,postgresql]
                                 [--clients 1,4] [--repeat 3]

Gateway path: for each batch of 1,000 messages, exactly what POST /api/v1/messages/batch does
below HTTP — validate, authorise, idempotency look-up, route, deadline, store, commit.
Baseline, same run, same database: the rows the gateway wrote, inserted again into a table with
the same definition (same indexes) — sqlite3 ``executemany`` in one transaction on SQLite,
``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import MetaData, Table, select

from bench.common import RESIDENCE, fresh_runtime, notifications, reachable_backends
from gateway.messages.models import MESSAGES
from gateway.messages.pipeline import DirectRecorder, Submissions
from gateway.messages.service import Ingestor
from gateway.nodes.service import Principal
from gateway.runtime import Runtime

BATCH = 1000


class _Unprotected(Submissions):
    """The same pipeline with the privacy work left out (no encryption, no receipt): the
    same-run figure the protected path is compared with (issue 11: within 20 %)."""

    def ingestor(self, principal: Principal) -> Ingestor:
        protected = super().ingestor(principal)
        protected.sealer = None
        protected.receipts = None
        return protected


def _gateway_ingest(
    runtime: Runtime, items: list[bytes], *, protected: bool = True, clients: int = 1
) -> float:
    """Seconds to ingest ``items`` in batches of 1,000; with ``clients`` > 1, that many
    threads submit at once, as concurrent requests do in a server (each decides its batch in
    its own thread; the writes take turns on the database)."""
    principal = Principal(RESIDENCE, RESIDENCE, "node")
    recorder = DirectRecorder(runtime)  # the pipeline's record step, without a server
    submissions = (Submissions if protected else _Unprotected)(runtime, recorder)
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]

    def submit(share: list[list[bytes]]) -> None:
        for batch in share:
            results = recorder.record_now(*submissions.decide(principal, batch))
            assert all(r.accepted is not None for r in results), "benchmark data must be valid"

    start = time.perf_counter()
    if clients == 1:
        submit(batches)
    else:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(submit, [batches[c::clients] for c in range(clients)]))
    return time.perf_counter() - start


def _baseline_table(runtime: Runtime) -> tuple[Table, list[tuple[Any, ...]]]:
    """A twin of the messages table (same columns and indexes) and the rows to copy into it."""
    meta = MetaData()
    twin = MESSAGES.to_metadata(meta, name="messages_raw")
    for index in twin.indexes:
        index.name = f"raw_{index.name}"  # type: ignore[assignment]  # plain str is accepted
    twin.create(runtime.engine)
    with runtime.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(MESSAGES))]
    return twin, rows


def _raw_sqlite(runtime: Runtime, rows: list[tuple[Any, ...]], columns: list[str]) -> float:
    path = runtime.engine.url.database
    assert path is not None
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = (
        f"INSERT INTO messages_raw ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    # the raw path gets the values already in SQLite's storage form: it measures the insert
    values = [tuple(_sqlite_value(v) for v in row) for row in rows]
    start = time.perf_counter()
    with conn:
        conn.executemany(sql, values)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _sqlite_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _raw_copy(runtime: Runtime, rows: list[tuple[Any, ...]], columns: list[str]) -> float:
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        start = time.perf_counter()
        with cursor.copy(f"COPY messages_raw ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def _timed(backend: str, items: list[bytes], *, protected: bool, clients: int) -> float:
    with fresh_runtime(backend) as runtime:
        runtime.receipts.pool.start()  # as a server does before it accepts requests
        return _gateway_ingest(runtime, items, protected=protected, clients=clients)


def run(backend: str, count: int, clients: int = 1, repeat: int = 3) -> dict[str, Any]:
    """The gateway path with and without the privacy work, alternated ``repeat`` times each on
    fresh databases (medians), then the raw baseline."""
    items = notifications(count)
    plain: list[float] = []
    protected: list[float] = []
    for i in range(repeat):
        order = (False, True) if i % 2 == 0 else (True, False)
        for flag in order:
            (protected if flag else plain).append(
                _timed(backend, items, protected=flag, clients=clients)
            )
    plain_s, gateway_s = statistics.median(plain), statistics.median(protected)
    with fresh_runtime(backend) as runtime:
        _gateway_ingest(runtime, items)
        twin, rows = _baseline_table(runtime)
        columns = [c.name for c in twin.columns]
        raw_s = (_raw_sqlite if backend == "sqlite" else _raw_copy)(runtime, rows, columns)
    gateway_rate = count / gateway_s
    raw_rate = count / raw_s
    return {
        "backend": backend,
        "messages": count,
        "clients": clients,
        "gateway_msgs_per_s": round(gateway_rate),
        "raw_insert_rows_per_s": round(raw_rate),
        "ratio": round(gateway_rate / raw_rate, 3),
        "without_encryption_and_receipts_msgs_per_s": round(count / plain_s),
        "protected_over_unprotected": round(plain_s / gateway_s, 3),
        "one_million_takes_s": round(1_000_000 / gateway_rate),
        "baseline": "sqlite3 executemany, one transaction" if backend == "sqlite" else "COPY",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", default="1", help="comma-separated: threads submitting")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for backend in reachable_backends(args.backends):
        for clients in (int(c) for c in args.clients.split(",")):
            results.append(run(backend, args.messages, clients, args.repeat))
    print(json.dumps({"python": platform.python_version(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
