"""`gateway retention …`: the retention rules in force, and a purge run now."""

from __future__ import annotations

import typer

app = typer.Typer(
    no_args_is_help=True,
    help="个人信息保存期限（docs/privacy.md）。Retention of personal data.",
)


@app.command(
    "purge",
    help=(
        "立即删除超过保存期限的报文个人信息（删除数据密钥，统计所需的元数据保留）；网关每小时自动执行。"
        "Purge now the personal data past its retention (the data keys are deleted; the "
        "metadata the figures need stays). The gateway also does this every hour."
    ),
)
def purge() -> None:
    from gateway.cli.common import print_json, refuse, runtime
    from gateway.errors import ConfigurationError
    from gateway.messages.retention import purge_expired
    from gateway.privacy.retention import rules

    with runtime() as rt:
        try:
            in_force = rules(rt.settings.retention_days)
        except ConfigurationError as exc:
            refuse(exc)
        counts = purge_expired(rt.sessions, in_force, rt.time.now())
        print_json(
            {
                "rules": {f"{r.type or '*'}:{r.state}": r.days for r in in_force},
                "purged": counts,
            }
        )
