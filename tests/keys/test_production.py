"""GATEWAY_ENV=production: `gateway serve`, `gateway worker` and every command that opens the
database refuse to start (exit 2, naming the setting) while a secret is missing or public or
a drill clock is set; with proper secrets `gateway serve` starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.keys.resolve import DEVELOPMENT_DEFAULTS
from gateway.keys.store import secrets_path

GATEWAY = str(Path(sys.executable).with_name("gateway"))
SECRETS = {
    "GATEWAY_PUSH_SIGNING_KEY": "a-long-random-push-signing-key-0123456789",
    "GATEWAY_PERSON_KEY_SECRET": "a-long-random-person-key-secret-0123456789",
}
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {
        **clean,
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_ENV": "production",
        **extra,
    }


def test_serve_in_production_without_secrets_exits_2_naming_the_setting(tmp_path: Path) -> None:
    run = subprocess.run(
        [GATEWAY, "serve", "--port", str(_free_port())],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "GATEWAY_PUSH_SIGNING_KEY is not set" in run.stderr
    assert "GATEWAY_PERSON_KEY_SECRET is not set" in run.stderr
    assert "GATEWAY_KEYRING_FILE is not set" in run.stderr
    assert "GATEWAY_RECEIPT_KEYS_FILE is not set" in run.stderr
    assert "未配置" in run.stderr
    assert not secrets_path(tmp_path / "data").exists()  # nothing generated
    assert not (tmp_path / "data" / "redis").exists()  # nothing started


def test_serve_in_production_refuses_the_old_public_key_and_a_drill_clock(tmp_path: Path) -> None:
    run = subprocess.run(
        [GATEWAY, "serve", "--port", str(_free_port())],
        env=_env(
            tmp_path,
            **{**SECRETS, "GATEWAY_PUSH_SIGNING_KEY": DEVELOPMENT_DEFAULTS[0]},
            GATEWAY_CLOCK_START="2026-11-23T09:00:00+08:00",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "GATEWAY_PUSH_SIGNING_KEY is a public development value" in run.stderr
    assert "GATEWAY_CLOCK_START" in run.stderr
    assert "GATEWAY_PERSON_KEY_SECRET" not in run.stderr  # that one is fine


def _key_files(tmp_path: Path) -> dict[str, str]:
    """The key files production reads, made as an operator makes them (gateway keys init)."""
    env = {
        "GATEWAY_KEYRING_FILE": str(tmp_path / "keys" / "keyring.toml"),
        "GATEWAY_RECEIPT_KEYS_FILE": str(tmp_path / "keys" / "receipt-keys.toml"),
    }
    run = subprocess.run(
        [GATEWAY, "keys", "init"],
        env=_env(tmp_path, **SECRETS, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return env


def test_serve_in_production_with_secrets_gets_past_the_check(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [GATEWAY, "serve", "--port", str(port)],
        env=_env(tmp_path, **SECRETS, **_key_files(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, (proc.poll(), ready)
        assert not secrets_path(tmp_path / "data").exists()  # configured, so none generated
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize(
    "command", [["node", "list"], ["db", "upgrade"], ["delivery", "status"], ["worker"]]
)
def test_commands_that_open_the_database_refuse_too(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://127.0.0.1:1/0")  # `worker` needs one
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "GATEWAY_PUSH_SIGNING_KEY is not set" in result.stderr
