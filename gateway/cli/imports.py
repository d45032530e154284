"""`gateway import FILE --profile NAME --sender CODE`: a county export into standard messages."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from adapters.client import ClientError
from adapters.client.api import GatewayApi
from adapters.convert import ProfileMismatch
from adapters.importer import ImportAborted, ImportSummary, run_import
from adapters.ledger import LEDGER_NAME, Ledger
from adapters.profiles import ProfileError, load_profile, profile_names
from adapters.readers import ReaderError
from adapters.report import report_path
from gateway.cli.common import references

IMPORT_HELP = (
    "导入本地导出文件（CSV：UTF-8 或 GB18030；XLSX），按映射配置转换为标准通报并报送网关。"
    "有问题的行不报送，逐行写入输入文件旁的错误报告（行号、列名、填写内容、问题说明）；"
    "同一文件重复导入不会重复报送，中断后重新运行即可续传。\n\n"
    "Import a county export (CSV in UTF-8 or GB18030, or XLSX) through a mapping profile into "
    "standard messages and submit them. Bad rows are not sent; each is reported beside the "
    "input. Importing the same file twice sends nothing twice; re-run to resume."
)


class ApiSubmitter:
    """The importer's submitter over the gateway's batch endpoint (with the client's retries
    on network errors: a repeated batch is harmless, message ids are idempotency keys)."""

    def __init__(self, api: GatewayApi) -> None:
        self.api = api

    def submit_batch(self, bodies: Sequence[bytes]) -> dict[str, Any]:
        return self.api.submit_encoded(bodies)


def _print_summary(console: Console, s: ImportSummary) -> None:
    mode = "（试运行，未报送）" if s.dry_run else ""
    console.print(f"文件 {s.source}{mode}：共 {s.rows} 行，用时 {s.elapsed_s:.1f} 秒")
    console.print(f"  可转换 {s.converted} 行；有问题未报送 {s.rejected} 行")
    if not s.dry_run:
        console.print(
            f"  新报送 {s.accepted}；网关已有（重复）{s.duplicates}；此前已报送跳过 "
            f"{s.already_sent}；网关拒收 {s.refused}；已受理但暂无接收节点 {s.unmatched}"
        )
    if s.report is not None:
        console.print(f"  错误报告（{s.issues} 条）：{s.report}")
    console.print(
        f"rows={s.rows} converted={s.converted} rejected={s.rejected} accepted={s.accepted} "
        f"duplicates={s.duplicates} already_sent={s.already_sent} refused={s.refused} "
        f"unmatched={s.unmatched} issues={s.issues}",
        style="dim",
    )


def import_file(
    file: Annotated[Path, typer.Argument(help="导出文件 .csv / .xlsx / the export file")],
    profile: Annotated[
        str, typer.Option(help="映射配置名称或 .toml 路径 / mapping profile name or path")
    ],
    sender: Annotated[str, typer.Option(help="本单位区划代码（发送方）/ your division code")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只检查不报送 / check only, send nothing")
    ] = False,
    url: Annotated[
        str, typer.Option(envvar="GATEWAY_CLIENT_URL", help="网关地址 / gateway URL")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(envvar="GATEWAY_CLIENT_TOKEN", help="本节点令牌 / this node's token"),
    ] = None,
    report: Annotated[str, typer.Option(help="错误报告格式 xlsx 或 csv / report format")] = "xlsx",
    encoding: Annotated[
        str | None,
        typer.Option(help="CSV 编码（默认自动识别 UTF-8 / GB18030）/ CSV encoding"),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX 工作表名 / sheet name")] = None,
    ledger: Annotated[
        Path | None,
        typer.Option(help=f"导入记录文件（默认输入文件旁的 {LEDGER_NAME}）/ ledger file"),
    ] = None,
) -> None:
    console = Console(stderr=False)
    if report not in ("xlsx", "csv"):
        console.print("报告格式只能是 xlsx 或 csv / --report is xlsx or csv")
        raise typer.Exit(2)
    if not file.is_file():
        console.print(f"找不到文件 / no such file: {file}")
        raise typer.Exit(2)
    try:
        chosen = load_profile(profile)
    except ProfileError as exc:
        console.print(str(exc))
        console.print(f"可用配置 / known profiles: {', '.join(profile_names())}")
        raise typer.Exit(2) from None
    if not dry_run and not token:
        console.print("需要本节点令牌：--token 或 GATEWAY_CLIENT_TOKEN / a token is required")
        raise typer.Exit(2)
    out = report_path(file, report)
    api = GatewayApi(url, token) if not dry_run and token else None
    book = None if dry_run else Ledger(ledger or file.parent / LEDGER_NAME)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]导入 {task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed} 行"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal and not os.environ.get("GATEWAY_FORCE_PROGRESS"),
    )
    try:
        with progress:
            task = progress.add_task(file.name, total=None)
            summary = run_import(
                file,
                chosen,
                sender=sender,
                registry=references().current().registry,
                submitter=ApiSubmitter(api) if api is not None else None,
                report_path=out,
                ledger=book,
                encoding=encoding,
                sheet=sheet,
                on_progress=lambda n: progress.advance(task, n),
            )
    except (ReaderError, ProfileMismatch) as exc:
        console.print(f"文件无法导入 / cannot import: {exc}")
        raise typer.Exit(2) from None
    except ImportAborted as exc:
        console.print(f"导入中断，可重新运行续传 / import stopped, re-run to resume: {exc}")
        _print_summary(console, exc.summary)
        raise typer.Exit(1) from None
    except ClientError as exc:
        console.print(f"网关不可用 / gateway unavailable: {exc}")
        raise typer.Exit(1) from None
    finally:
        if api is not None:
            api.close()
        if book is not None:
            book.close()
    _print_summary(console, summary)
    raise typer.Exit(1 if summary.rejected or summary.refused else 0)
