"""`gateway demo`: two demo jurisdictions and one notification walked to its feedback."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from adapters.samples import sample_rows, write_xlsx
from gateway.nodes.service import add_node
from gateway.server import BackgroundServer, Gateway, exit_cleanly_on_signals, uvicorn_config
from gateway.settings import Settings, get_settings
from message_schemas.timezone import SHANGHAI

RESIDENCE = ("441900", "东莞市（现居住地，演示）")
ORIGIN = ("430582", "邵东市（户籍地，演示）")
SUPERVISOR = ("430000", "湖南省（监管，演示）")
HTTP_TIMEOUT = httpx.Timeout(10.0)

DEMO_HELP = (
    "演示：启动网关（内置默认），注册两个演示地区，把一份怀孕通报从提交、收取、签收走到反馈，"
    "然后保持运行供浏览（--exit 则走完即退出）。\n\n"
    "Demo: start the gateway on its embedded default, register two demo jurisdictions, walk a "
    "pregnancy notification from submission to feedback, then keep serving (--exit: stop)."
)


def _example(name: str) -> dict[str, Any]:
    text = (
        resources.files("message_schemas")
        .joinpath("examples", "v1", f"{name}.json")
        .read_text(encoding="utf-8")
    )
    doc: dict[str, Any] = json.loads(text)
    return doc


def _say(step: str, zh: str, en: str, data: Any = None) -> None:
    typer.secho(f"\n[{step}] {zh}", bold=True)
    typer.echo(f"      {en}")
    if data is not None:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        typer.echo(response.text, err=True)
        raise typer.Exit(1)
    return response.json()


def demo(
    port: Annotated[int, typer.Option(help="端口（0 为任选）/ port, 0 picks a free one")] = 8000,
    exit_after: Annotated[
        bool, typer.Option("--exit", help="走完流程即退出 / stop after the walk-through")
    ] = False,
) -> None:
    base = get_settings()
    data_dir = base.data_dir / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)  # the demo's own directory, rebuilt each run
    settings = Settings(**{**base.model_dump(), "data_dir": data_dir, "database_url": ""})
    exit_cleanly_on_signals()
    with Gateway(settings) as rt:
        tokens: dict[str, str] = {}
        with rt.session() as session:
            for (code, name), role in (
                (RESIDENCE, "node"),
                (ORIGIN, "node"),
                (SUPERVISOR, "supervisor"),
            ):
                _row, tokens[code] = add_node(
                    session,
                    code=code,
                    name=name,
                    role=role,
                    endpoint=None,
                    now=rt.time.now(),
                    divisions=rt.registry,
                )
            session.commit()
        with BackgroundServer(uvicorn_config(rt, "127.0.0.1", port, log_level="warning")) as srv:
            url = f"http://127.0.0.1:{srv.port}"
            _walk(url, tokens)
            _say(
                "完成",
                f"网关运行于 {url}（接口文档 {url}/docs）",
                f"Gateway at {url}; API docs at {url}/docs",
                {"tokens": tokens, "data_dir": str(data_dir)},
            )
            _try_next(url, tokens, data_dir)
            if exit_after:
                return
            typer.echo("\n按 Ctrl-C 停止。Press Ctrl-C to stop.")
            while srv.thread.is_alive():
                time.sleep(0.5)


def _walk(url: str, tokens: dict[str, str]) -> None:
    def client(code: str) -> httpx.Client:
        return httpx.Client(
            base_url=url,
            timeout=HTTP_TIMEOUT,
            headers={"Authorization": f"Bearer {tokens[code]}"},
        )

    now = datetime.now(UTC)
    notification = _example("notification.pregnancy")
    notification["message_id"] = str(uuid.uuid4())
    notification["created_at"] = now.isoformat()
    event = (now - timedelta(days=1)).date()
    notification["body"]["event_date"] = event.isoformat()
    notification["body"]["details"]["expected_delivery_date"] = (
        event + timedelta(days=200)
    ).isoformat()
    with client(RESIDENCE[0]) as residence, client(ORIGIN[0]) as origin:
        accepted = _check(residence.post("/api/v1/messages", json=notification))
        _say(
            "1",
            "现居住地（东莞）提交怀孕通报，网关按户籍地代码路由并计算办理期限",
            "Residence submits a pregnancy notification; routed by hukou code, due date set",
            accepted,
        )
        inbox = _check(origin.get("/api/v1/inbox"))
        _say(
            "2",
            f"户籍地（邵东）收取收件箱：{len(inbox['messages'])} 份",
            "Origin collects its inbox",
            [{k: m[k] for k in ("message_id", "type", "due_at")} for m in inbox["messages"]],
        )
        mid = notification["message_id"]
        _say(
            "3",
            "户籍地签收",
            "Origin acknowledges receipt",
            _check(origin.post(f"/api/v1/inbox/{mid}/ack")),
        )
        feedback = _example("feedback")
        feedback.update(
            message_id=str(uuid.uuid4()),
            in_reply_to=mid,
            created_at=datetime.now(UTC).isoformat(),
        )
        _say(
            "4",
            "户籍地核实后反馈：已核实并记录",
            "Origin feeds back: confirmed",
            _check(origin.post("/api/v1/messages", json=feedback)),
        )
        status = _check(residence.get(f"/api/v1/messages/{mid}"))
        _say(
            "5",
            f"现居住地查看通报状态：{status['state_label']}，{status['response_label']}",
            f"Residence sees the notification {status['state']}, {status['response']}",
            status["timestamps"],
        )


def _gateway_command() -> str:
    """`gateway` as a shell word that runs from any directory with or without the venv on
    PATH: the absolute path of the program running now (./ops/run.sh runs .venv/bin/gateway)."""
    script = Path(os.path.abspath(sys.argv[0]))
    if script.name == "gateway" and script.is_file():
        return shlex.quote(str(script))
    beside = Path(os.path.abspath(sys.executable)).with_name("gateway")
    if beside.is_file():
        return shlex.quote(str(beside))
    return f"{shlex.quote(os.path.abspath(sys.executable))} -m gateway.cli.main"


def next_commands(url: str, tokens: dict[str, str], data_dir: Path, export: Path) -> list[str]:
    """Shell lines a newcomer can paste as printed, from any directory: absolute paths, the
    gateway's URL and the nodes' tokens spelled out, no PATH needed."""
    gateway = _gateway_command()
    q = shlex.quote
    county = Path(os.path.abspath(data_dir / "邵东"))
    residence = ["--url", url, "--token", tokens[RESIDENCE[0]]]
    origin = ["--url", url, "--token", tokens[ORIGIN[0]], "--dir", str(county)]
    # The import converts locally, with the division tables of the demo's data directory.
    data_env = f"GATEWAY_DATA_DIR={q(os.path.abspath(data_dir))}"
    return [
        " ".join(
            [data_env, gateway, "import", q(os.path.abspath(export))]
            + ["--profile", "floating_women", "--sender", RESIDENCE[0]]
            + [q(a) for a in residence]
        ),
        " ".join([gateway, "client", "pull", *(q(a) for a in origin)]),
        # the glob: the workbook that pull writes (its name carries the time of the pull)
        " ".join(
            [gateway, "client", "answer", f"{q(str(county))}/收件_*.xlsx", *(q(a) for a in origin)]
        ),
        " ".join([gateway, "client", "status", *(q(a) for a in origin)]),
    ]


def _try_next(url: str, tokens: dict[str, str], data_dir: Path) -> None:
    """A synthetic county export beside the demo data, and the commands a county would run."""
    today = datetime.now(SHANGHAI).date()
    export = write_xlsx(data_dir / "示例_育龄妇女导出.xlsx", sample_rows(20, today=today))
    lines = next_commands(url, tokens, data_dir, export)
    notes = [
        "东莞导入本地导出 / the residence imports its export",
        "邵东收取并生成工作簿 / the origin collects into a workbook for its clerks",
        "填写工作簿后发送答复 / send the answers filled in the workbook",
        "查看待办和期限 / what is still open and when it is due",
    ]
    typer.echo(
        "\n试一试（另开一个终端，任意目录下原样运行）/ "
        "Try next (in another terminal, from any directory, as printed):"
    )
    for note, line in zip(notes, lines, strict=True):
        typer.echo(f"  # {note}\n  {line}")
