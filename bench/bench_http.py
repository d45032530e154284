"""Single-message POST rate over HTTP against a bare endpoint returning the same bytes.

    python -m bench.bench_http [--seconds 10] [--connections 16]

Both servers run in this process's children with identical uvicorn settings (one worker,
same event loop and HTTP implementation) on the embedded default (SQLite + embedded Redis).
The load generator is wrk (Debian package `wrk`) with a Lua script giving every request a
fresh message_id; p50/p99 latency come from wrk's own histogram.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import EXAMPLES

LUA = r"""
local counter = 0
local thread_id = 0
local body_template = nil
local token = os.getenv("GW_TOKEN")

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  local f = io.open(os.getenv("GW_BODY"), "r")
  body_template = f:read("*a")
  f:close()
end

function request()
  counter = counter + 1
  local id = string.format("%08x-0000-4000-8000-%012x", tid, counter)
  local body = string.gsub(body_template, "__MESSAGE_ID__", id)
  return wrk.format("POST", "/api/v1/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
"""

BARE_APP = r"""
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()
REPLY = orjson.dumps({"message_id": "x", "state": "routed", "recipient": "430582",
                      "due_at": "2026-11-30T23:59:59.999000+08:00", "due_provisional": False,
                      "duplicate": False, "unmatched_reason": None})

@app.post("/api/v1/messages", status_code=202)
async def submit(request: Request) -> Response:
    await request.body()
    return Response(REPLY, status_code=202, media_type="application/json")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _wrk(
    port: int, seconds: int, connections: int, env: dict[str, str], lua: Path
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(lua),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=seconds + 60,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": round(rate),
        "p50": lat.get("50"),
        "p99": lat.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--profile", help="py-spy flame graph of the gateway to this SVG")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="gw-bench-http-") as tmp:
        tmpdir = Path(tmp)
        lua = tmpdir / "post.lua"
        lua.write_text(LUA)
        body = json.loads((EXAMPLES / "notification.pregnancy.json").read_text("utf-8"))
        body["message_id"] = "__MESSAGE_ID__"
        body_file = tmpdir / "body.json"
        body_file.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        (tmpdir / "bare_app.py").write_text(BARE_APP)
        env = {**os.environ, "GATEWAY_DATA_DIR": str(tmpdir / "data")}
        py = sys.executable
        gw = Path(py).with_name("gateway")
        token = ""
        for code in ("441900", "430582"):
            added = subprocess.run(
                [str(gw), "node", "add", code, "--name", code],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout
            if code == "441900":
                token = json.loads(added)["token"]
        results: dict[str, Any] = {}
        uvicorn_opts = ["--log-level", "warning", "--no-access-log"]
        servers = {
            "bare": [py, "-m", "uvicorn", "bare_app:app", "--app-dir", str(tmpdir)],
            "gateway": [str(gw), "serve", "--no-access-log"],
        }
        for name, cmd in servers.items():
            port = _free_port()
            full = cmd + (
                ["--port", str(port), *uvicorn_opts] if name == "bare" else ["--port", str(port)]
            )
            proc = subprocess.Popen(
                full,
                env={**env, "GATEWAY_PORT": str(port)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait(port, proc)
                spy = None
                if args.profile and name == "gateway":
                    spy = subprocess.Popen(
                        [
                            "py-spy",
                            "record",
                            "-o",
                            args.profile,
                            "-f",
                            "raw",
                            "-d",
                            str(args.seconds),
                            "-p",
                            str(proc.pid),
                            "-t",
                        ]
                    )
                results[name] = _wrk(
                    port,
                    args.seconds,
                    args.connections,
                    {"GW_TOKEN": token, "GW_BODY": str(body_file)},
                    lua,
                )
                if spy is not None:
                    spy.wait(timeout=60)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
        ratio = results["gateway"]["requests_per_s"] / results["bare"]["requests_per_s"]
        print(
            json.dumps(
                {
                    "connections": args.connections,
                    "seconds": args.seconds,
                    **results,
                    "ratio": round(ratio, 3),
                    "goal": 0.5,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
