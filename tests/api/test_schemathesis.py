"""Schemathesis against a live gateway with a valid node token (PROTOCOL §8.9): no server
error and no response that contradicts the OpenAPI document, for every operation.

Bounded in examples and time so the suite stays within its budget; docs/testing.md says what
the run covers, and gives the figures of a longer run by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import Harness, example, running_gateway

# Every response check. Left out: positive_data_acceptance (the standard's rules go beyond what
# JSON Schema can say: ID checksums, the division tables, dates against each other, so most
# schema-valid messages are rightly refused) and the stateful checks, which need links.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
    ]
)
MAX_EXAMPLES = 25  # per operation and phase
MAX_SECONDS = 50
SEED = 20261201  # a fixed seed in CI; by hand, leave it out (docs/testing.md)


def schemathesis_command(gw: Harness, token: str, report: Path, *extra: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{gw.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        # one worker: CPython 3.11 can fail compiling in several threads at once
        # ("AST constructor recursion depth mismatch"), an error of the tool, not the API
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
        *extra,
    ]


def _run(tmp_path: Path, seconds: int, *extra: str) -> str:
    """Schemathesis over a fresh gateway for ``seconds``; its whole output. Fails on any
    finding, and unless every operation of the document was tested."""
    with running_gateway("embedded", tmp_path) as gw:
        token = gw.token("441900")
        gw.token("430582")
        sender = gw.client(token)
        for name in ("notification.birth", "notification.pregnancy"):  # something to read
            assert sender.post("/api/v1/messages", json=example(name)).status_code == 202
        operations = len(
            [op for path in sender.get("/openapi.json").json()["paths"].values() for op in path]
        )
        command = schemathesis_command(
            gw, token, tmp_path / "junit.xml", "--max-time", str(seconds), *extra
        )
        run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + 90,
            check=False,
            cwd=tmp_path,  # it keeps state in ./.schemathesis
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    # every operation was tested, not skipped
    assert f"Operations:       {operations} selected / {operations} total" in output, output
    assert f"Tested: {operations}" in output, output
    return output


@pytest.mark.timeout(MAX_SECONDS + 120)
def test_schemathesis_finds_no_server_error_and_no_contradiction(tmp_path: Path) -> None:
    _run(tmp_path, MAX_SECONDS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED))


LONG_MINUTES = int(os.environ.get("SCHEMATHESIS_MINUTES", "0"))


@pytest.mark.skipif(not LONG_MINUTES, reason="by hand: SCHEMATHESIS_MINUTES=10")
@pytest.mark.timeout(LONG_MINUTES * 60 + 180)
def test_long_schemathesis_run(tmp_path: Path) -> None:
    """The longer run by hand (docs/testing.md): random seed, no example cap."""
    output = _run(tmp_path, LONG_MINUTES * 60)
    print(output[-3000:])
