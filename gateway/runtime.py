"""The process-wide parts a request or task needs: engine, sessions, time, routing, Redis."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis as redis_sync
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.calendar.clock import WorkingDayClock
from gateway.db.engine import make_engine
from gateway.divisions.registry import DivisionRegistry
from gateway.keys.resolve import resolve_secrets
from gateway.nodes import repository as nodes_repo
from gateway.nodes.token_cache import TokenCache
from gateway.privacy.keys import open_keys
from gateway.privacy.receipts import ReceiptSigner
from gateway.privacy.sealing import Sealer
from gateway.reference import Reference, ReferenceSource
from gateway.routing.table import RoutingTable
from gateway.settings import Settings
from gateway.time_source import SystemTime, TimeSource

ROUTING_TTL_S = 2.0  # a node added by another process is routed to within this time


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    time: TimeSource
    sealer: Sealer
    receipts: ReceiptSigner
    redis: redis_sync.Redis | None = None
    redis_url: str = ""
    tokens: TokenCache = field(default_factory=lambda: TokenCache(0))
    # the division tables, the clock and the windows in force (reloaded when files change)
    references: ReferenceSource = field(default_factory=lambda: ReferenceSource(None))
    _routing: RoutingTable | None = None
    _routing_registry: DivisionRegistry | None = None
    _routing_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        time: TimeSource | None = None,
        redis: redis_sync.Redis | None = None,
        redis_url: str = "",
    ) -> Runtime:
        """Raises ConfigurationError when the settings may not run (gateway.keys.resolve)."""
        settings = resolve_secrets(settings)
        sealer, receipts = open_keys(settings)
        engine = make_engine(settings.resolved_database_url())
        return cls(
            sealer=sealer,
            receipts=receipts,
            settings=settings,
            engine=engine,
            sessions=sessionmaker(engine, expire_on_commit=False),
            time=time or SystemTime(),
            redis=redis,
            redis_url=redis_url,
            tokens=TokenCache(settings.token_cache_s),
            references=ReferenceSource(settings.data_dir, check_s=settings.reference_check_s),
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session for a transaction that writes; the caller commits.

        SQLite allows one writer at a time and makes the others sleep in its busy handler
        (measured: p50 69 ms at 16 concurrent submissions). In one process, queueing the
        writers on a lock instead keeps each transaction short. PostgreSQL needs no lock.
        """
        if self.engine.dialect.name != "sqlite":
            with self.sessions() as session:
                yield session
            return
        with self._write_lock, self.sessions() as session:
            yield session

    def reference(self) -> Reference:
        return self.references.current()

    @property
    def clock(self) -> WorkingDayClock:
        return self.references.current().clock

    @property
    def registry(self) -> DivisionRegistry:
        return self.references.current().registry

    def routing(self) -> RoutingTable:
        registry = self.registry
        with self._lock:
            fresh = _time.monotonic() - self._routing_at < ROUTING_TTL_S
            if self._routing is not None and fresh and self._routing_registry is registry:
                return self._routing
        with self.sessions() as session:
            nodes = nodes_repo.routing_codes(session)
        table = RoutingTable(nodes, registry, [code for code, url in nodes.items() if url])
        with self._lock:
            self._routing, self._routing_at = table, _time.monotonic()
            self._routing_registry = registry
        return table

    def invalidate_routing(self) -> None:
        with self._lock:
            self._routing = None

    def close(self) -> None:
        self.receipts.close()
        self.engine.dispose()
