"""`gateway audit …`: check and export the log of disclosures of personal data."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    help="个人信息访问审计日志（docs/privacy.md）。The audit log of personal-data disclosures.",
)


@app.command(
    "verify",
    help=(
        "逐条校验审计日志的哈希链；完好退出码 0，否则退出码 1 并指出第一条出错的记录。"
        "Check the hash chain: exit 0 when intact, else 1 naming the first broken entry."
    ),
)
def verify() -> None:
    from gateway.audit.chain import verify as verify_chain
    from gateway.cli.common import print_json, runtime

    with runtime() as rt, rt.session() as session:
        verdict = verify_chain(session)
    print_json(
        {
            "ok": verdict.ok,
            "entries": verdict.entries,
            "broken_at": verdict.broken_at,
            "reason": verdict.reason or None,
        }
    )
    if not verdict.ok:
        raise typer.Exit(1)


@app.command(
    "export",
    help=(
        "导出某时段的审计记录（CSV，UTF-8 带 BOM，中文表头），供审计人员查阅。"
        "Export the entries of a period as CSV (UTF-8 with BOM, Chinese headers)."
    ),
)
def export(
    since: Annotated[str, typer.Option("--from", help="起始日期（含）/ first day, YYYY-MM-DD")],
    until: Annotated[str, typer.Option("--to", help="截止日期（含）/ last day, YYYY-MM-DD")],
    out: Annotated[
        Path | None, typer.Option("--out", help="输出文件，缺省为标准输出 / file (default stdout)")
    ] = None,
) -> None:
    from gateway.audit.export import write_csv
    from gateway.cli.common import runtime

    try:
        first, last = date.fromisoformat(since), date.fromisoformat(until)
    except ValueError:
        typer.echo("日期格式应为 YYYY-MM-DD / dates are YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    with runtime() as rt, rt.session() as session:
        text = write_csv(session, first, last)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
