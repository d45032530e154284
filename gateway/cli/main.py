"""`gateway` — 流动人口信息交换网关命令行 / exchange gateway command line."""

from __future__ import annotations

import typer

from gateway.cli import audit as audit_cli
from gateway.cli import calendar as calendar_cli
from gateway.cli import client as client_cli
from gateway.cli import delivery as delivery_cli
from gateway.cli import demo as demo_cli
from gateway.cli import divisions as divisions_cli
from gateway.cli import imports as imports_cli
from gateway.cli import keys as keys_cli
from gateway.cli import messages as messages_cli
from gateway.cli import nodes as nodes_cli
from gateway.cli import retention as retention_cli
from gateway.cli import serve as serve_cli

app = typer.Typer(
    name="gateway",
    help="流动人口信息交换网关。Exchange gateway for floating-population records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve", help=serve_cli.SERVE_HELP)(serve_cli.serve)
app.command("demo", help=demo_cli.DEMO_HELP)(demo_cli.demo)
app.command("validate", help=messages_cli.VALIDATE_HELP)(messages_cli.validate)
app.command("worker", help=delivery_cli.WORKER_HELP)(delivery_cli.worker)
app.command("import", help=imports_cli.IMPORT_HELP)(imports_cli.import_file)
app.add_typer(delivery_cli.app, name="delivery")
app.add_typer(nodes_cli.app, name="node")
app.add_typer(serve_cli.db_app, name="db")
app.add_typer(messages_cli.schemas_app, name="schemas")
app.add_typer(calendar_cli.app, name="calendar")
app.add_typer(divisions_cli.app, name="divisions")
app.add_typer(client_cli.app, name="client")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(retention_cli.app, name="retention")

if __name__ == "__main__":  # pragma: no cover
    app()
