"""`gateway serve` and `gateway db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from gateway.cli.common import print_json, refuse, runtime, startup_settings
from gateway.db.migrate import current_revision, head_revision
from gateway.errors import ConfigurationError
from gateway.logs import configure_logging
from gateway.server import Gateway, exit_cleanly_on_signals, uvicorn_config

SERVE_HELP = (
    "启动网关服务。未配置时使用内置默认：数据目录下的 SQLite 文件和随网关启停的内置 Redis；"
    "设置 GATEWAY_DATABASE_URL / GATEWAY_REDIS_URL 则使用 PostgreSQL 与 Redis。\n\n"
    "Run the gateway. With no configuration: a SQLite file under the data directory and an "
    "embedded Redis started and stopped with it; with GATEWAY_DATABASE_URL and "
    "GATEWAY_REDIS_URL: PostgreSQL and Redis.\n\n"
    "GATEWAY_ENV=production 时未配置密钥（GATEWAY_PUSH_SIGNING_KEY、GATEWAY_PERSON_KEY_SECRET）"
    "或设置了演练时钟则拒绝启动（退出码 2）。With GATEWAY_ENV=production it refuses to start "
    "(exit code 2) while a secret is missing or a drill clock is set (docs/operations.md)."
)


def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    access_log: Annotated[
        bool, typer.Option(help="记录每个请求 / log every request (no personal data in URLs)")
    ] = True,
    worker: Annotated[
        bool | None,
        typer.Option(
            help="同进程运行推送投递（内置默认时默认开启）/ run the delivery worker in-process "
            "(default: on for the embedded default, off with GATEWAY_REDIS_URL)"
        ),
    ] = None,
) -> None:
    settings = startup_settings()  # exit 2 naming the setting when it may not run
    configure_logging()
    in_process = worker if worker is not None else not settings.redis_url
    exit_cleanly_on_signals()
    gateway = Gateway(settings)
    try:
        # a keyring that cannot open this database's canaries stops here, exit 2
        rt = gateway.start()
    except ConfigurationError as exc:
        refuse(exc)
    try:
        config = uvicorn_config(
            rt,
            host or settings.host,
            port or settings.port,
            worker=in_process,
            access_log=access_log,
        )
        uvicorn.Server(config).run()
    finally:
        gateway.stop()


db_app = typer.Typer(no_args_is_help=True, help="数据库结构 / database schema.")


@db_app.command(
    "upgrade", help="升级数据库结构到当前版本。Migrate the schema to the current version."
)
def db_upgrade() -> None:
    with runtime() as rt:
        print_json({"revision": current_revision(rt.engine), "head": head_revision()})
