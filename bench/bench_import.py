"""County export import: rows/s converted and submitted, with peak memory, against merely
reading the same file with the same reader, in the same run.

    .venv/bin/python -m bench.bench_import --rows 200000 [--format csv|xlsx]

A synthetic ``floating_women`` export (GB18030 CSV, or XLSX) goes through three child
processes, each timed from outside and reporting its own peak RSS (``VmHWM``):
  read     – ``open_records`` iterated to the end, nothing else (the baseline);
  convert  – ``gateway import --dry-run`` (read, convert, validate, write the report);
  import   – ``gateway import`` against a running ``gateway serve`` (embedded SQLite + Redis):
             read, convert, validate, submit in batches of 500, ledger, report.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.samples import sample_rows, write_csv, write_xlsx
from bench.bench_http import _free_port, _wait

READ_ONLY = """
import sys
from pathlib import Path
from adapters.readers import open_records
n = 0
with open_records(Path(sys.argv[1])) as reader:
    for _row in reader:
        n += 1
print(n)
"""
# Runs a command in this interpreter and prints the process's own peak RSS (VmHWM) last:
# wait4's ru_maxrss also counts the parent's memory at fork, which is not the child's doing.
PEAK = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        hwm = next(line for line in f if line.startswith("VmHWM"))
    print("peak_kib", hwm.split()[1], flush=True)
atexit.register(peak)
sys.argv = sys.argv[1:]
if sys.argv[0] == "gateway":
    from gateway.cli.main import app
    app()
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _child(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one child to its end: wall time, peak RSS and the last line it printed."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", PEAK, *cmd], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        _pid, status, _usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if proc.returncode not in (0, 1):  # 1: some rows were reported, which is fine here
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}): {text[-2000:]}")
    lines = text.strip().splitlines()
    peak = next(int(line.split()[1]) for line in reversed(lines) if line.startswith("peak_kib"))
    return {
        "seconds": round(elapsed, 2),
        "peak_rss_mib": round(peak / 1024, 1),
        "last": next((line for line in reversed(lines) if not line.startswith("peak_kib")), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()
    py = sys.executable
    gw = str(Path(py).with_name("gateway"))
    with tempfile.TemporaryDirectory(prefix="gw-bench-import-") as tmp:
        tmpdir = Path(tmp)
        env = {**os.environ, "GATEWAY_DATA_DIR": str(tmpdir / "data"), "COLUMNS": "200"}
        source = tmpdir / f"export.{args.format}"
        began = time.perf_counter()
        if args.format == "csv":
            write_csv(source, sample_rows(args.rows), "gb18030")
        else:
            write_xlsx(source, sample_rows(args.rows))
        made = time.perf_counter() - began
        size_mib = source.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size_mib:.1f} MiB ({args.format}), written in {made:.1f} s")

        tokens = {}
        for code in ("441900", "430582"):
            added = subprocess.run(
                [gw, "node", "add", code, "--name", code],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout
            tokens[code] = json.loads(added)["token"]

        results: dict[str, Any] = {}
        reader = tmpdir / "read_only.py"
        reader.write_text(READ_ONLY, encoding="utf-8")
        results["read"] = _child([str(reader), str(source)], env)
        dry = [
            "gateway",
            "import",
            str(source),
            "--profile",
            "floating_women",
            "--sender",
            "441900",
        ]
        results["convert"] = _child([*dry, "--dry-run", "--report", "csv"], env)

        port = _free_port()
        server = subprocess.Popen(
            [gw, "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port, server)
            run_env = {
                **env,
                "GATEWAY_CLIENT_URL": f"http://127.0.0.1:{port}",
                "GATEWAY_CLIENT_TOKEN": tokens["441900"],
            }
            results["import"] = _child([*dry, "--report", "csv"], run_env)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)

        base = results["read"]["seconds"]
        for r in results.values():
            r["rows_per_s"] = round(args.rows / r["seconds"])
            r["ratio_vs_read"] = round(base / r["seconds"], 3)
        print(json.dumps({"rows": args.rows, "format": args.format, **results}, indent=2))
        print(
            f"import: {results['import']['rows_per_s']:,} rows/s, ratio "
            f"{results['import']['ratio_vs_read']} against reading alone "
            f"({results['read']['rows_per_s']:,} rows/s); goal >= 0.3"
        )


if __name__ == "__main__":
    main()
