"""`gateway client pull|answer|status|receive` — the reference county client (县级参考客户端).

What it prints is for a county clerk: counts, message ids, file names and deadlines — never a
name or an ID number. Exit codes: 0 done; 1 failed (nothing or only part was done; the text
says what is safe); 2 answers sent but some rows were refused (see the 回执 file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from adapters.client import (
    ClientError,
    GatewayRefused,
    GatewayUnavailable,
    LocalStoreFailed,
    WorkbookError,
)
from adapters.client.api import GatewayApi
from adapters.client.service import answer as answer_service
from adapters.client.service import pull as pull_service
from adapters.client.service import status as status_service
from adapters.client.service import verify_receipts as verify_receipts_service
from adapters.client.store import ClientStore
from adapters.client.workbook import TYPE_LABELS
from message_schemas.timezone import SHANGHAI

app = typer.Typer(
    help="县级参考客户端：收取、答复、查看待办、接收推送。Reference county client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UrlOpt = Annotated[
    str,
    typer.Option(
        "--url", envvar="GATEWAY_CLIENT_URL", help="网关地址 / gateway URL", show_default=True
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="GATEWAY_CLIENT_TOKEN",
        help="本节点令牌 / this node's bearer token",
        show_default=False,
    ),
]
DirOpt = Annotated[
    Path,
    typer.Option(
        "--dir",
        envvar="GATEWAY_CLIENT_DIR",
        help="本地数据目录（本地库与工作簿）/ data dir (local store and workbooks)",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_DIR = Path("./county-data")
MAX_PUSH_BODY = 1024 * 1024  # = adapters.receiver.MAX_BODY, the gateway's one-message limit


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _say(zh: str, en: str, *, err: bool = False) -> None:
    typer.echo(f"{zh}\n  {en}", err=err)


def _retrying(attempt: int, reason: str) -> None:
    typer.echo(f"网关连接失败（第 {attempt} 次，{reason}），稍后重试… / retrying", err=True)


@contextmanager
def _session(
    url: str, token: str | None, directory: Path
) -> Iterator[tuple[ClientStore, GatewayApi]]:
    if not token:
        _say(
            "缺少令牌：请用 --token 或环境变量 GATEWAY_CLIENT_TOKEN 提供本节点令牌。",
            "No token: pass --token or set GATEWAY_CLIENT_TOKEN.",
            err=True,
        )
        raise typer.Exit(1)
    store = ClientStore.in_dir(directory)
    api = GatewayApi(url, token, on_retry=_retrying)
    try:
        yield store, api
    except GatewayUnavailable as exc:
        _say(
            f"无法连接网关（已尝试 {exc.attempts} 次）。已收取的报文均已保存，请稍后重新运行。",
            f"Gateway unavailable: {exc.detail}. What was received is saved; run again later.",
            err=True,
        )
        raise typer.Exit(1) from None
    except GatewayRefused as exc:
        hint = "令牌无效或已注销。" if exc.status == 401 else ""
        _say(
            f"网关拒绝了请求（HTTP {exc.status}）。{hint}",
            f"The gateway refused the request: {exc}",
            err=True,
        )
        raise typer.Exit(1) from None
    except LocalStoreFailed as exc:
        _say(
            f"本地库写入失败（报文 {exc.message_id or '-'}）：未签收，报文仍在网关收件箱，"
            "修复后重新收取即可。",
            f"Local store failed: {exc.detail}",
            err=True,
        )
        raise typer.Exit(1) from None
    except WorkbookError as exc:
        _say(f"工作簿无法读取：{exc}", "The workbook cannot be read.", err=True)
        raise typer.Exit(1) from None
    except ClientError as exc:  # pragma: no cover - every subclass is handled above
        _say(f"失败：{exc}", f"Failed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        api.close()
        store.close()


@app.command(
    "pull",
    help="收取收件箱：先保存到本地库再签收，并生成供核查填写的工作簿。"
    "Collect the inbox: store, then acknowledge; write a workbook of what is new.",
)
def pull(
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    directory: DirOpt = DEFAULT_DIR,
) -> None:
    with _session(url, token, directory) as (store, api):
        result = pull_service(store, api, directory, now=_now())
    kinds = "，".join(f"{TYPE_LABELS.get(k, k)} {n} 份" for k, n in sorted(result.by_type.items()))
    _say(
        f"收取完成：新收 {result.received} 份"
        + (f"（{kinds}）" if kinds else "")
        + f"，签收 {result.acknowledged} 份"
        + (f"，其中 {result.already_held} 份此前已保存" if result.already_held else "")
        + "。",
        f"Collected: {result.received} new, {result.acknowledged} acknowledged, "
        f"{result.already_held} held before.",
    )
    if result.workbook is not None:
        _say(
            f"已生成工作簿（{result.exported} 份）：{result.workbook}",
            f"Workbook written ({result.exported} messages): {result.workbook}",
        )


@app.command(
    "answer",
    help="发送工作簿中填写的反馈/答复；未能发送的行写入“<文件名>.回执.xlsx”。"
    "Send the answers filled in a workbook; rows not sent are listed in <name>.回执.xlsx.",
)
def answer(
    file: Annotated[
        Path,
        typer.Argument(
            help="已填写的工作簿 / the filled workbook (.xlsx)", exists=True, dir_okay=False
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    directory: DirOpt = DEFAULT_DIR,
) -> None:
    with _session(url, token, directory) as (store, api):
        result = answer_service(store, api, file, now=_now())
    _say(
        f"答复完成：发送 {result.sent} 份，网关已有 {result.duplicates} 份，"
        f"此前已发送 {result.already_sent} 份，空白未填 {result.blank} 行，"
        f"未发送或被拒绝 {result.refused} 行。",
        f"Answers: {result.sent} sent, {result.duplicates} already at the gateway, "
        f"{result.already_sent} sent before, {result.blank} blank, {result.refused} refused.",
    )
    if result.report is not None:
        _say(
            f"请查看回执并修改后重新运行：{result.report}",
            f"See the receipt, correct and run again: {result.report}",
        )
        raise typer.Exit(2)


@app.command(
    "status",
    help="查看待答复的报文及期限（默认先向网关刷新）。"
    "Show requests still to answer and their deadlines (refreshed from the gateway).",
)
def status(
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    directory: DirOpt = DEFAULT_DIR,
    refresh: Annotated[
        bool, typer.Option("--refresh/--offline", help="向网关刷新 / refresh from the gateway")
    ] = True,
) -> None:
    now = _now()
    if refresh:
        with _session(url, token, directory) as (store, api):
            items = status_service(store, api, now=now)
    else:
        with ClientStore.in_dir(directory) as store:
            items = status_service(store, now=now)
    if not items:
        _say("没有待答复的报文。", "Nothing awaits an answer.")
        return
    typer.echo("报文编号                              类型  发送地  应反馈期限        剩余工作日")
    for item in items:
        due = item.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") if item.due_at else "-"
        if item.due_provisional:
            due += "（暂定）"
        left = "-" if item.working_days_left is None else str(item.working_days_left)
        if item.overdue:
            left += " 已超期"
        typer.echo(
            f"{item.message_id}  {TYPE_LABELS.get(item.type, item.type)}  {item.sender}  "
            f"{due:<16}  {left}"
        )
    overdue = sum(1 for i in items if i.overdue)
    _say(
        f"共 {len(items)} 份待答复，其中已超期 {overdue} 份。",
        f"{len(items)} awaiting an answer, {overdue} overdue.",
    )


@app.command(
    "receive",
    help="运行推送接收端：校验签名后保存到本地库。Run the push receiver (verifies signatures).",
)
def receive(
    directory: DirOpt = DEFAULT_DIR,
    host: Annotated[str, typer.Option("--host", help="监听地址 / listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8080,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            envvar="GATEWAY_PUSH_SECRET",
            help="推送签名密钥 whsec_…；密钥轮换期间可重复给出新旧两个（环境变量中以空格分隔）"
            " / the node's push secret; repeat it for the old and the new one during a "
            "rotation (space-separated in the environment variable)",
            show_default=False,
        ),
    ] = None,
    max_body_bytes: Annotated[
        int,
        typer.Option(
            "--max-body-bytes",
            min=1,
            help="单个推送的最大字节数，超出答复 413 / largest push body accepted (else 413)",
        ),
    ] = MAX_PUSH_BODY,
) -> None:
    import uvicorn

    from adapters.receiver import create_receiver_app
    from gateway.logs import configure_logging

    secrets = [s for s in secret or [] if s]
    if not secrets:
        _say(
            "缺少签名密钥：请用 --secret 或环境变量 GATEWAY_PUSH_SECRET 提供。",
            "No secret: pass --secret or set GATEWAY_PUSH_SECRET.",
            err=True,
        )
        raise typer.Exit(1)
    store = ClientStore.in_dir(directory)
    try:
        application = create_receiver_app(store, secrets, max_body_bytes=max_body_bytes)
    except Exception:
        store.close()
        _say("签名密钥格式不正确（应为 whsec_…）。", "The secret is malformed (whsec_…).", err=True)
        raise typer.Exit(1) from None
    configure_logging()
    _say(f"推送接收端运行于 http://{host}:{port}/", f"Receiver listening on http://{host}:{port}/")
    try:
        uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)
    finally:
        store.close()


@app.command(
    "verify-receipts",
    help="用网关公布的公钥核验本地保存的全部回执（证明何时发送、发送了什么）；"
    "有无效回执时退出码 1。"
    "Check every stored receipt against the gateway's published keys (evidence of what was "
    "sent and when); exit 1 when one does not verify.",
)
def verify_receipts(
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    directory: DirOpt = DEFAULT_DIR,
    ledger: Annotated[
        Path | None,
        typer.Option(
            help="同时核验导入记录（导入记录.sqlite）中的回执 / also the receipts of an import "
            "ledger",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    from adapters.ledger import Ledger

    with _session(url, token, directory) as (store, api):
        if ledger is None:
            result = verify_receipts_service(store, api)
        else:
            with Ledger(ledger) as imported:
                result = verify_receipts_service(store, api, imported)
    _say(
        f"回执核验：有效 {result.verified} 份，无效 {len(result.invalid)} 份，"
        f"无回执（早于回执功能）{len(result.missing)} 份。",
        f"Receipts: {result.verified} verified, {len(result.invalid)} invalid, "
        f"{len(result.missing)} without a receipt (sent before receipts existed).",
    )
    for bad in result.invalid:
        _say(f"  {bad.message_id}：{bad.reason}", f"  {bad.message_id}: {bad.reason}")
    if result.invalid:
        raise typer.Exit(1)
