"""Running the gateway: embedded Redis when no URL is given, migrations, then uvicorn."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from gateway.api.app import create_app
from gateway.db.migrate import upgrade
from gateway.embedded_redis import EmbeddedRedis, redis_client
from gateway.keys.resolve import resolve_secrets
from gateway.privacy.canary import check_keys
from gateway.privacy.retention import rules as retention_rules
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.time_source import TimeSource

STARTUP_TIMEOUT_S = 30.0


def exit_cleanly_on_signals() -> None:
    """Turn SIGINT/SIGTERM into SystemExit(0), so context managers stop what they started
    (the embedded Redis, the database pool). uvicorn shuts down gracefully on these signals
    and then re-raises them under the handlers it found, i.e. these."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit)


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


class Gateway:
    """Everything `gateway serve` owns, started and stopped together."""

    def __init__(self, settings: Settings, *, time_source: TimeSource | None = None) -> None:
        self.settings = settings
        self._time = time_source
        self.embedded_redis: EmbeddedRedis | None = None
        self.runtime: Runtime | None = None

    def start(self) -> Runtime:
        """Raises ConfigurationError (before anything is started) when the settings may not
        run: a secret missing or public in production, a drill clock in production."""
        self.settings = resolve_secrets(self.settings)
        retention_rules(self.settings.retention_days)  # a bad rule stops the start, named
        url = self.settings.redis_url
        try:
            if not url:
                self.embedded_redis = EmbeddedRedis(self.settings.data_dir)
                url = self.embedded_redis.url
            self.runtime = Runtime.create(
                self.settings,
                time=self._time,
                redis=redis_client(url, self.settings),
                redis_url=url,
            )
            upgrade(self.runtime.engine, sealer=self.runtime.sealer)
            check_keys(self.runtime.sessions, self.runtime.sealer, self.runtime.time.now())
        except BaseException:  # __exit__ does not run when __enter__ fails: stop what started
            self.stop()
            raise
        return self.runtime

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            if self.runtime.redis is not None:
                self.runtime.redis.close()
        if self.embedded_redis is not None:
            self.embedded_redis.stop()

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def uvicorn_config(
    runtime: Runtime, host: str, port: int, *, worker: bool = False, **kwargs: Any
) -> uvicorn.Config:
    options: dict[str, Any] = {
        "log_level": "info",
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 10,
        **kwargs,
    }
    return uvicorn.Config(create_app(runtime, worker=worker), host=host, port=port, **options)


class BackgroundServer:
    """uvicorn in a thread (the demo and the tests use a real server on a real port)."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("gateway HTTP server did not start")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
