"""`gateway serve` on the embedded default and `gateway demo`, as real processes."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

GATEWAY = str(Path(sys.executable).with_name("gateway"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"  # a zombie is gone too


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_with_no_configuration_is_ready_and_stops_its_redis(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = _free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [GATEWAY, "serve", "--port", str(port)],
        env=env,
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
        assert ready is not None and ready.status_code == 200, ready
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "data" / "gateway.db").is_file()
        redis_pid = int((tmp_path / "data" / "redis" / "redis.pid").read_text())
        assert _alive(redis_pid)
    finally:
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
    assert not _alive(redis_pid)
    assert not (tmp_path / "data" / "redis" / "redis.pid").exists()


def test_demo_walks_a_notification_to_its_feedback(tmp_path: Path) -> None:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run(
        [GATEWAY, "demo", "--exit", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "answered_on_time" in run.stdout
    assert "按时答复" in run.stdout
    # the next steps it prints: a sample export to import, and the county client's commands
    export = tmp_path / "data" / "demo" / "示例_育龄妇女导出.xlsx"
    assert export.exists() and f"gateway import {shlex.quote(str(export))}" in run.stdout
    assert f"{GATEWAY} client pull" in run.stdout
    pidfile = tmp_path / "data" / "demo" / "redis" / "redis.pid"
    assert not pidfile.exists() or not _alive(int(pidfile.read_text()))


def test_demo_runs_with_the_default_relative_data_dir(tmp_path: Path) -> None:
    """No GATEWAY_DATA_DIR at all: ./gateway-data relative to the working directory."""
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_DATA_DIR"}
    run = subprocess.run(
        [GATEWAY, "demo", "--exit", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "gateway-data" / "demo" / "gateway.db").is_file()


def test_demo_keeps_serving_until_terminated_then_stops_its_redis(tmp_path: Path) -> None:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [GATEWAY, "demo", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the walk-through ends with the Ctrl-C hint
            if "Ctrl-C" in line:
                break
        pid = int((tmp_path / "data" / "demo" / "redis" / "redis.pid").read_text())
        assert _alive(pid)
    finally:
        proc.terminate()
        code = proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 0
    assert not _alive(pid)


def test_the_commands_the_demo_prints_run_as_printed_from_anywhere(tmp_path: Path) -> None:
    """A newcomer after ./ops/run.sh: another terminal, another directory, no .venv/bin on
    PATH and no GATEWAY_* variables; every line the demo suggests is pasted as it is."""
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [GATEWAY, "demo", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        printed: list[str] = []
        for line in proc.stdout:
            if "Ctrl-C" in line:
                break
            printed.append(line.rstrip("\n"))
        start = next(i for i, line in enumerate(printed) if "Try next" in line)
        commands = [
            line.strip()
            for line in printed[start + 1 :]
            if line.startswith("  ") and not line.lstrip().startswith("#")
        ]
        assert len(commands) >= 3, printed[start:]
        venv_bin = str(Path(GATEWAY).parent)
        path = os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin
        )
        assert shutil.which("gateway", path=path) is None  # the newcomer's shell
        shell_env = {"PATH": path, "HOME": str(tmp_path)}
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for command in commands:
            run = subprocess.run(
                command,
                shell=True,  # the point: exactly what a user pastes into a shell
                cwd=elsewhere,
                env=shell_env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 0, (command, run.stdout, run.stderr)
        # import sent the sample export, pull collected it into a workbook, answer read it
        assert list((tmp_path / "data" / "demo" / "邵东").glob("收件_*.xlsx"))
        assert not list(elsewhere.iterdir())  # nothing written where the user happened to be
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        assert proc.stdout is not None
        proc.stdout.close()
