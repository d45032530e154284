"""`gateway client …` as a county clerk runs it: counts and ids on screen, never personal data."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from gateway.cli.main import app
from tests.adapters.client.conftest import ORIGIN, fill
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
