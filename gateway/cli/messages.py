"""`gateway validate` and `gateway schemas export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

VALIDATE_HELP = (
    "校验一份报文（FILE 为 - 时读标准输入）：合格退出码 0；否则退出码 1 并以 JSON 列出错误"
    "（字段路径、规则、说明）。\n\n"
    "Validate one message (FILE or - for stdin): exit 0 when valid, else exit 1 and print the "
    "errors as JSON, each naming the field path and the rule."
)

schemas_app = typer.Typer(
    no_args_is_help=True,
    help="报文 JSON Schema / the standard's JSON Schemas.",
)


def validate(
    file: Annotated[str, typer.Argument(help="报文文件，或 - 表示标准输入 / message file, or -")],
) -> None:
    from gateway.cli.common import references
    from message_schemas import message_errors

    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        typer.echo(f"无法读取文件 / cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    errors = message_errors(raw, divisions=references().current().registry)
    if errors:
        typer.echo(json.dumps([e.as_dict() for e in errors], ensure_ascii=False, indent=2))
        raise typer.Exit(1)
    typer.echo("valid / 合格")


@schemas_app.command(
    "export",
    help="把各类报文的 JSON Schema 写入目录 DIR。Write the JSON Schemas of every message type.",
)
def export(
    directory: Annotated[Path, typer.Argument(help="目标目录 / target directory")],
) -> None:
    from message_schemas.export import export_schemas

    for path in export_schemas(directory):
        typer.echo(str(path))
