"""`gateway divisions …` — 区划代码查询、地址解析、数据加载 / codes, addresses, data files."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import references
from gateway.divisions.address import parse_address
from gateway.divisions.errors import DivisionDataError
from gateway.errors import problem_of

app = typer.Typer(
    help="行政区划代码：查询、地址解析、加载新表。"
    "Division codes: look up, parse addresses, load tables.",
    no_args_is_help=True,
    add_completion=False,
)


class FileKind(StrEnum):
    national = "national"
    village = "village"
    successors = "successors"


def _print(payload: Any) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@app.command(
    "show",
    help="显示区划代码的名称、层级、状态与继承代码。"
    "Show a code's names, level, status and successor.",
)
def show(
    code: Annotated[str, typer.Argument(help="6、9或12位区划代码 / 6-, 9- or 12-digit code")],
) -> None:
    registry = references().current().registry
    problem = registry.check_code(code)
    info = registry.lookup(code) if problem is None else None
    if problem is not None or info is None:
        rule = problem.rule if problem else "division_unknown"
        message = problem.message if problem else "unknown division code / 区划代码不存在"
        _print({"field": "code", "rule": rule, "message": message})
        raise typer.Exit(1)
    _print({**info.as_dict(), "successor_source": registry.successor_source(code), "problem": None})


@app.command(
    "parse",
    help="把自由文本地址解析为县（及乡镇）代码并给出置信度。"
    "Parse a free-text address to a county (and township) code with a confidence.",
)
def parse(
    address: Annotated[str, typer.Argument(help="地址文本 / address text")],
) -> None:
    _print(parse_address(address, references().current().registry).as_dict())


@app.command(
    "load",
    help="校验并加载运营方文件（CSV，UTF-8或GB18030）：national / village / successors。"
    "Validate and load an operator file (CSV, UTF-8 or GB18030).",
)
def load(
    file: Annotated[
        Path, typer.Argument(help="CSV文件 / CSV file", exists=True, dir_okay=False, readable=True)
    ],
    kind: Annotated[FileKind, typer.Option("--kind", help="文件类别 / file kind")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="全国表的数据日期 YYYY-MM-DD / as-of date of a national table"
        ),
    ] = None,
) -> None:
    from gateway.divisions.service import load_file

    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _print(
            {
                "field": "as_of",
                "rule": "date_format",
                "message": "use YYYY-MM-DD / 日期格式应为YYYY-MM-DD",
            }
        )
        raise typer.Exit(2) from None
    try:
        source = references()
        assert source.divisions_dir is not None  # a configured data directory
        result = load_file(
            file,
            kind.value,
            directory=source.divisions_dir,
            registry=source.current().registry,
            as_of=as_of_date,
        )
    except DivisionDataError as exc:
        _print(problem_of(exc))
        raise typer.Exit(1) from None
    _print(
        {
            "kind": result.kind,
            "rows": result.rows,
            "stored_at": str(result.stored_at),
            **result.meta,
        }
    )


@app.command(
    "info",
    help="数据来源、日期、数量及已加载的运营方文件。"
    "Data provenance, counts and loaded operator files.",
)
def info() -> None:
    _print(references().current().registry.info())
