"""The gateway's secrets: generated once per data directory in development (private files,
one set even when several processes start at once), configured in production, never a public
value, never shown by a repr."""

from __future__ import annotations

import base64
import multiprocessing
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigurationError
from gateway.keys.resolve import DEVELOPMENT_DEFAULTS, resolve_secrets
from gateway.keys.store import secrets_path
from gateway.settings import Settings

GOOD_PUSH = "p" * 40
GOOD_PERSON = "q" * 40


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_generates_private_random_secrets_and_later_starts_read_them(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = resolve_secrets(Settings(data_dir=data))
    path = secrets_path(data)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    for value in (first.push_signing_key, first.person_key_secret):
        assert len(base64.urlsafe_b64decode(value)) == 32  # token_bytes(32), url-safe base64
    assert first.push_signing_key != first.person_key_secret
    again = resolve_secrets(Settings(data_dir=data))
    assert (again.push_signing_key, again.person_key_secret) == (
        first.push_signing_key,
        first.person_key_secret,
    )
    other = resolve_secrets(Settings(data_dir=tmp_path / "other"))
    assert other.push_signing_key != first.push_signing_key  # random, not derived
    assert resolve_secrets(again) is again


def _resolve_in_child(data_dir: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    settings = resolve_secrets(Settings(data_dir=Path(data_dir)))
    out.put((settings.push_signing_key, settings.person_key_secret))


def test_concurrent_first_starts_end_with_one_set_of_secrets(tmp_path: Path) -> None:
    # threads of one process
    data = tmp_path / "threads"
    barrier = threading.Barrier(16)
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait()
        settings = resolve_secrets(Settings(data_dir=data))
        with lock:
            seen.append((settings.push_signing_key, settings.person_key_secret))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(seen) == 16 and len(set(seen)) == 1

    # separate processes (what two `gateway serve` starting together are)
    data = tmp_path / "processes"
    context = multiprocessing.get_context("fork")
    process_barrier = context.Barrier(8)
    out = context.Queue()
    children = [
        context.Process(target=_resolve_in_child, args=(str(data), process_barrier, out))
        for _ in range(8)
    ]
    for child in children:
        child.start()
    results = {out.get(timeout=30) for _ in children}
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert len(results) == 1
    stored = resolve_secrets(Settings(data_dir=data))
    assert results == {(stored.push_signing_key, stored.person_key_secret)}
    assert [p.name for p in secrets_path(data).parent.iterdir()] == ["gateway-secrets.toml"]


def test_configured_secrets_come_from_env_or_a_file_and_no_repr_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "person.key"
    secret_file.write_text(GOOD_PERSON + "\n")
    monkeypatch.setenv("GATEWAY_PUSH_SIGNING_KEY", GOOD_PUSH)
    monkeypatch.setenv("GATEWAY_PERSON_KEY_SECRET_FILE", str(secret_file))
    settings = Settings(data_dir=tmp_path / "data")
    resolved = resolve_secrets(settings)
    assert resolved.push_signing_key == GOOD_PUSH
    assert resolved.person_key_secret == GOOD_PERSON
    assert not secrets_path(tmp_path / "data").exists()  # nothing generated when configured
    for shown in (repr(settings), repr(resolved), str(resolved), resolved.model_dump_json()):
        assert GOOD_PUSH not in shown and GOOD_PERSON not in shown


def production(tmp_path: Path, **values: Any) -> Settings:
    """Production settings; the key files named (their content is gateway.privacy's)."""
    values.setdefault("keyring_file", tmp_path / "keys" / "keyring.toml")
    values.setdefault("receipt_keys_file", tmp_path / "keys" / "receipt-keys.toml")
    return Settings(data_dir=tmp_path / "data", env="production", **values)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, ["GATEWAY_PUSH_SIGNING_KEY is not set", "GATEWAY_PERSON_KEY_SECRET is not set"]),
        ({"person_key_secret": GOOD_PERSON}, ["GATEWAY_PUSH_SIGNING_KEY is not set"]),
        (
            {"push_signing_key": "short", "person_key_secret": GOOD_PERSON},
            ["GATEWAY_PUSH_SIGNING_KEY is shorter than 32 bytes"],
        ),
        (
            {"push_signing_key": DEVELOPMENT_DEFAULTS[0], "person_key_secret": GOOD_PERSON},
            ["GATEWAY_PUSH_SIGNING_KEY is a public development value"],
        ),
        (
            {"push_signing_key": GOOD_PUSH, "person_key_secret": DEVELOPMENT_DEFAULTS[1]},
            ["GATEWAY_PERSON_KEY_SECRET is a public development value"],
        ),
        (
            {"push_signing_key": GOOD_PUSH, "person_key_secret": GOOD_PUSH},
            ["must differ"],
        ),
        (
            {
                "push_signing_key": GOOD_PUSH,
                "person_key_secret": GOOD_PERSON,
                "clock_start": "2026-11-23T09:00:00+08:00",
            },
            ["GATEWAY_CLOCK_START is set"],
        ),
        (
            {
                "push_signing_key": GOOD_PUSH,
                "person_key_secret": GOOD_PERSON,
                "keyring_file": None,
                "receipt_keys_file": None,
            },
            ["GATEWAY_KEYRING_FILE is not set", "GATEWAY_RECEIPT_KEYS_FILE is not set"],
        ),
    ],
)
def test_production_refuses_to_run_naming_each_setting(
    tmp_path: Path, values: dict[str, Any], named: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        resolve_secrets(production(tmp_path, **values))
    assert len(refused.value.problems) == len(named)
    for problem, name in zip(refused.value.problems, named, strict=True):
        assert name in problem
    assert not secrets_path(tmp_path / "data").exists()  # production never generates


def test_production_never_uses_generated_secrets(tmp_path: Path) -> None:
    resolve_secrets(Settings(data_dir=tmp_path / "data"))  # a development start wrote them
    with pytest.raises(ConfigurationError, match="GATEWAY_PUSH_SIGNING_KEY is not set"):
        resolve_secrets(production(tmp_path))
    ok = resolve_secrets(
        production(tmp_path, push_signing_key=GOOD_PUSH, person_key_secret=GOOD_PERSON)
    )
    assert ok.push_signing_key == GOOD_PUSH


@pytest.mark.parametrize("value", DEVELOPMENT_DEFAULTS)
def test_the_old_public_values_are_refused_in_development_too(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="public development value"):
        resolve_secrets(Settings(data_dir=tmp_path / "data", push_signing_key=value))


def test_an_unreadable_or_doubly_configured_secret_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigurationError, match="GATEWAY_PUSH_SIGNING_KEY_FILE"):
        resolve_secrets(Settings(data_dir=tmp_path / "d", push_signing_key_file=missing))
    missing.write_text(GOOD_PUSH)
    with pytest.raises(ConfigurationError, match="both set"):
        resolve_secrets(
            Settings(
                data_dir=tmp_path / "d", push_signing_key=GOOD_PUSH, push_signing_key_file=missing
            )
        )


def test_an_unresolved_secret_cannot_be_read() -> None:
    """Nothing can sign with a secret nobody chose: the attribute refuses until resolved."""
    with pytest.raises(ConfigurationError, match="GATEWAY_PUSH_SIGNING_KEY"):
        _ = Settings().push_signing_key
