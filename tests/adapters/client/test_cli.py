"""`gateway client …` as a county clerk runs it: counts and ids on screen, never personal data."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from adapters.receiver import MAX_BODY
from gateway.cli.main import app
from tests.adapters.client.conftest import ORIGIN, fill, serving
from tests.api.conftest import Harness, example

runner = CliRunner()


def test_pull_status_answer_from_the_command_line(gw: Harness, tmp_path: Path) -> None:
    token = gw.token(ORIGIN)
    residence = gw.node("441900")
    first, second = example("notification.birth"), example("notification.pregnancy")
    for doc in (first, second):
        assert residence.post("/api/v1/messages", json=doc).status_code == 202
    directory = tmp_path / "county"
    common = ["--url", gw.url, "--token", token, "--dir", str(directory)]

    pulled = runner.invoke(app, ["client", "pull", *common])
    assert pulled.exit_code == 0, pulled.output
    assert "新收 2 份（通报 2 份），签收 2 份" in pulled.output
    [workbook] = directory.glob("收件_*.xlsx")
    assert str(workbook) in pulled.output

    shown = runner.invoke(app, ["client", "status", "--offline", "--dir", str(directory)])
    assert shown.exit_code == 0, shown.output
    assert first["message_id"] in shown.output and "2026-11-30" in shown.output
    assert "共 2 份待答复" in shown.output

    filled = fill(
        workbook,
        directory / "答复.xlsx",
        {
            first["message_id"]: {"反馈结果": "已核实并记录"},
            second["message_id"]: {"反馈结果": "查无此人"},  # no departments: refused locally
        },
    )
    answered = runner.invoke(app, ["client", "answer", str(filled), *common])
    assert answered.exit_code == 2, answered.output
    assert "发送 1 份" in answered.output and "答复.回执.xlsx" in answered.output
    assert load_workbook(directory / "答复.回执.xlsx")["回执"].max_row == 2

    refreshed = runner.invoke(app, ["client", "status", *common])
    assert refreshed.exit_code == 0, refreshed.output
    assert first["message_id"] not in refreshed.output
    assert "共 1 份待答复" in refreshed.output

    for result in (pulled, shown, answered, refreshed):
        for doc in (first, second):
            assert doc["subject"]["name"] not in result.output
            assert doc["subject"]["id_number"] not in result.output


def test_without_a_token_it_says_so_and_fails(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["client", "pull", "--dir", str(tmp_path)], env={"GATEWAY_CLIENT_TOKEN": ""}
    )
    assert result.exit_code == 1
    assert "缺少令牌" in result.output


def test_a_refused_token_fails_with_a_clear_text(gw: Harness, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["client", "pull", "--url", gw.url, "--token", "wrong", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "令牌无效" in result.output


def test_the_receiver_needs_a_secret(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["client", "receive", "--dir", str(tmp_path)], env={"GATEWAY_PUSH_SECRET": ""}
    )
    assert result.exit_code == 1
    assert "缺少签名密钥" in result.output


def _receive(
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    pushes: list[tuple[tuple[str, ...], int]],
    env: dict[str, str] | None = None,
) -> None:
    """Run `gateway client receive …` and, while it serves (its uvicorn.run replaced by a
    loopback server), send each push signed by the given secrets; check the statuses."""
    import uvicorn

    import gateway.logs

    answered: list[int] = []

    def run(application: Any, **_kw: Any) -> None:
        with serving(application) as port:
            for signers, _status in pushes:
                doc = example("notification.birth")
                body = json.dumps(doc)
                moment = datetime.now(UTC)
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": doc["message_id"],
                    "webhook-timestamp": str(int(moment.timestamp())),
                    "webhook-signature": " ".join(
                        Webhook(s).sign(doc["message_id"], moment, body) for s in signers
                    ),
                }
                response = httpx.post(
                    f"http://127.0.0.1:{port}/", content=body.encode(), headers=headers
                )
                answered.append(response.status_code)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(gateway.logs, "configure_logging", lambda *a, **kw: None)
    result = runner.invoke(app, ["client", "receive", *args], env=env)
    assert result.exit_code == 0, result.output
    assert answered == [status for _signers, status in pushes]


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def test_the_receiver_takes_old_and_new_secret_during_a_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new, unknown = _secret(), _secret(), _secret()
    pushes = [((old,), 200), ((new,), 200), ((old, new), 200), ((unknown,), 401)]
    directory = ["--dir", str(tmp_path)]
    _receive(monkeypatch, [*directory, "--secret", old, "--secret", new], pushes)
    # the environment variable holds both, space-separated
    _receive(monkeypatch, directory, pushes, env={"GATEWAY_PUSH_SECRET": f"{old} {new}"})


def test_the_receiver_body_cap_is_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli.client import MAX_PUSH_BODY

    assert MAX_PUSH_BODY == MAX_BODY  # the CLI default is the receiver's (the gateway's limit)
    secret = _secret()
    small = len(json.dumps(example("notification.birth")).encode()) - 1
    args = ["--dir", str(tmp_path), "--secret", secret]
    _receive(monkeypatch, [*args, "--max-body-bytes", str(small)], [((secret,), 413)])
    _receive(monkeypatch, args, [((secret,), 200)])


def test_receipts_of_answers_are_kept_and_verify(gw: Harness, tmp_path: Path) -> None:
    """The county keeps each answer's receipt and checks it against the gateway's JWKS; a
    receipt or an envelope changed in the local store fails, naming the message."""
    import sqlite3

    token = gw.token(ORIGIN)
    residence = gw.node("441900")
    doc = example("notification.birth")
    assert residence.post("/api/v1/messages", json=doc).status_code == 202
    directory = tmp_path / "county"
    common = ["--url", gw.url, "--token", token, "--dir", str(directory)]
    assert runner.invoke(app, ["client", "pull", *common]).exit_code == 0
    [workbook] = directory.glob("收件_*.xlsx")
    filled = fill(
        workbook, directory / "答复.xlsx", {doc["message_id"]: {"反馈结果": "已核实并记录"}}
    )
    answered = runner.invoke(app, ["client", "answer", str(filled), *common])
    assert answered.exit_code == 0, answered.output

    checked = runner.invoke(app, ["client", "verify-receipts", *common])
    assert checked.exit_code == 0, checked.output
    assert "有效 1 份，无效 0 份" in checked.output

    with sqlite3.connect(directory / "county.db") as conn:  # "we answered earlier": edit it
        (envelope,) = conn.execute("SELECT envelope FROM answers").fetchone()
        changed = json.loads(envelope)
        changed["created_at"] = "2026-11-20T09:00:00+08:00"
        conn.execute("UPDATE answers SET envelope = ?", (json.dumps(changed),))
    failed = runner.invoke(app, ["client", "verify-receipts", *common])
    assert failed.exit_code == 1
    assert "报文内容与回执不符" in failed.output and changed["message_id"] in failed.output
