"""Two counties through the real running gateway, each with the tools it would use:
the residence (东莞) imports its export with `gateway import`; the origin (邵东) collects with
`gateway client pull`, its clerks fill in the workbook, `gateway client answer` sends the
feedback; the residence then sees every obligation answered on time and the feedback, in wire
codes, in its inbox."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from adapters.samples import sample_rows, write_xlsx
from tests.adapters.client.conftest import fill
from tests.api.conftest import Harness, running_gateway
from tests.conftest import STACKS

RESIDENCE, ORIGIN = "441900", "430582"


def _gateway(gw: Harness, token: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_CLIENT_URL": gw.url, "GATEWAY_CLIENT_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_pull_answer_and_the_residence_sees_answered_obligations(
    gw: Harness, tmp_path: Path
) -> None:
    residence_token, origin_token = gw.token(RESIDENCE), gw.token(ORIGIN)
    export = write_xlsx(tmp_path / "育龄妇女.xlsx", list(sample_rows(14)))

    imported = _gateway(
        gw, residence_token, "import", str(export), "--profile", "floating_women",
        "--sender", RESIDENCE, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "accepted=14" in imported.stdout.replace("\n", " ")

    origin_dir = tmp_path / "邵东"
    pulled = _gateway(gw, origin_token, "client", "pull", "--dir", str(origin_dir), cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    [workbook] = origin_dir.glob("收件_*.xlsx")
    book = load_workbook(workbook, read_only=True)
    rows = list(book["通报"].iter_rows(values_only=True))
    book.close()
    header, ids = rows[0], [r[0] for r in rows[1:]]
    assert len(ids) == 14 and "应反馈期限" in header

    # the clerks: most confirmed, one not found after asking the police, one corrected
    answers = {str(i): {"反馈结果": "已核实并记录"} for i in ids}
    answers[str(ids[0])] = {"反馈结果": "查无此人", "已核查部门": "公安部门、民政部门"}
    answers[str(ids[1])] = {
        "反馈结果": "户籍地信息与通报不符（已更正）",
        "更正字段": "婚姻状况",
        "户籍地记录值": "离婚",
    }
    filled = fill(workbook, origin_dir / "已填写.xlsx", answers)
    sent = _gateway(gw, origin_token, "client", "answer", str(filled), "--dir", str(origin_dir),
                    cwd=tmp_path)  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr

    residence = gw.client(residence_token)
    for message_id in ids:
        view = residence.get(f"/api/v1/messages/{message_id}").json()
        assert view["response"] == "answered_on_time", view
    inbox = residence.get("/api/v1/inbox", params={"limit": 100}).json()["messages"]
    outcomes = sorted(m["envelope"]["body"]["outcome"] for m in inbox)
    assert outcomes == sorted(["not_found", "corrected"] + ["confirmed"] * 12)
    assert {m["envelope"]["sender"] for m in inbox} == {ORIGIN}

    # answering the same workbook again sends nothing twice
    again = _gateway(gw, origin_token, "client", "answer", str(filled), "--dir", str(origin_dir),
                     cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert gw.count_messages() == 28


@pytest.fixture(params=STACKS)
def gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path) as harness:
        yield harness
