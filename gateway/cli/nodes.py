"""`gateway node add|list|revoke|push-secret` — 节点与令牌管理 / nodes and their tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import fail, print_json, runtime
from gateway.errors import GatewayError
from gateway.nodes import repository
from gateway.nodes.models import ROLE_LABELS
from gateway.nodes.service import (
    add_node,
    node_push_secret,
    receiver_push_secret,
    revoke_node,
)

app = typer.Typer(
    no_args_is_help=True,
    help="节点（接入系统）与令牌管理。Register nodes and issue their tokens.",
)

# shown with every push secret: who it is for and how to see it again
_RECEIVER_NOTE = (
    "推送签名密钥交给该节点的接收端，用于验证推送（docs/delivery.md）；"
    "可用 gateway node push-secret 再次查看。"
    "Give the push secret to the node's receiver to verify pushes (docs/delivery.md); "
    "gateway node push-secret shows it again."
)


@app.command(
    "add",
    help="注册节点并签发令牌（令牌只显示这一次），有推送地址时另给推送签名密钥。"
    "Register a node; prints its token once (and its push secret with --endpoint).",
)
def add(
    code: Annotated[str, typer.Argument(help="区划代码 / division code the node acts for")],
    name: Annotated[str, typer.Option("--name", help="单位名称 / name")],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="推送地址 / push endpoint URL")
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="角色 node|supervisor|admin（业务/监管/管理员）")
    ] = "node",
) -> None:
    with runtime() as rt, rt.session() as session:
        try:
            row, token = add_node(
                session, code=code, name=name, role=role, endpoint=endpoint, now=rt.time.now()
            )
        except GatewayError as exc:
            fail(exc)
        session.commit()
        shown: dict[str, object] = {
            "code": row.code,
            "name": row.name,
            "role": row.role,
            "endpoint": row.endpoint,
            "token": token,
            "note": "令牌只显示这一次，请妥善保存。The token is shown only once.",
        }
        if row.endpoint is not None and row.role == "node":
            shown["push_secret"] = receiver_push_secret(
                row.id, row.code, rt.settings.push_signing_key
            )
            shown["push_secret_note"] = _RECEIVER_NOTE
        print_json(shown)


@app.command("list", help="列出节点（不显示令牌）。List nodes (tokens are never shown).")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="含已注销 / include revoked")] = False,
) -> None:
    with runtime() as rt, rt.session() as session:
        rows = repository.list_nodes(session, include_revoked=all_)
        print_json(
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "role": r.role,
                    "role_label": ROLE_LABELS.get(r.role),
                    "endpoint": r.endpoint,
                    "created_at": r.created_at.isoformat(),
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in rows
            ]
        )


@app.command("revoke", help="注销节点，其令牌立即失效。Revoke a node; its token stops working.")
def revoke(code: Annotated[str, typer.Argument(help="区划代码 / division code")]) -> None:
    with runtime() as rt, rt.session() as session:
        try:
            count = revoke_node(session, code, rt.time.now())
        except GatewayError as exc:
            fail(exc)
        session.commit()
        print_json({"code": code, "revoked": count})


@app.command(
    "push-secret",
    help="显示在用节点的推送签名密钥（交给其接收端验证推送）。"
    "Show an active node's push signing secret (for its receiver to verify pushes).",
)
def push_secret_(code: Annotated[str, typer.Argument(help="区划代码 / division code")]) -> None:
    with runtime() as rt, rt.session() as session:
        try:
            receiver, secret = node_push_secret(session, code, rt.settings.push_signing_key)
        except GatewayError as exc:
            fail(exc)
        print_json(
            {
                "code": receiver.code,
                "endpoint": receiver.endpoint,
                "push_secret": secret,
                "note": _RECEIVER_NOTE,
            }
        )
