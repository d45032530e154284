"""`gateway delivery pause|resume|status|retry` on the embedded default's database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gateway.cli.main import app

runner = CliRunner()


def test_pause_resume_and_status() -> None:
    runner.invoke(app, ["node", "add", "430582", "--name", "邵东", "--endpoint", "http://x.test/"])
    paused = runner.invoke(app, ["delivery", "pause", "--node", "430582"])
    assert paused.exit_code == 0 and json.loads(paused.stdout) == {"node": "430582", "paused": True}
    listed = runner.invoke(app, ["delivery", "resume", "--node", "430582"])
    assert json.loads(listed.stdout)["paused"] is False
    assert runner.invoke(app, ["delivery", "pause", "--node", "999999"]).exit_code == 1
    counts = json.loads(runner.invoke(app, ["delivery", "status"]).stdout)
    assert counts == {"by_state": {}, "dead_by_node": {}}


def test_retry_needs_a_target() -> None:
    assert runner.invoke(app, ["delivery", "retry"]).exit_code == 2
    nothing = runner.invoke(app, ["delivery", "retry", "--all-dead"])
    assert nothing.exit_code == 0 and json.loads(nothing.stdout)["requeued"] == 0


def test_worker_refuses_to_start_without_a_redis_url() -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "GATEWAY_REDIS_URL" in result.output
