"""`gateway node add|list|revoke|set-endpoint|push-secret|rotate-push-secret` — 节点与令牌管理
/ nodes, their tokens and push secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import redis
import typer

from gateway.cli.common import fail, print_json, runtime
from gateway.embedded_redis import embedded_redis_url
from gateway.errors import GatewayError
from gateway.nodes import repository, revocation
from gateway.nodes.models import ROLE_LABELS
from gateway.nodes.push_endpoint import EndpointCheck, NetworkPolicy, redact
from gateway.nodes.registration import register_node
from gateway.nodes.service import (
    PushSecrets,
    finish_push_secret_rotation,
    node_push_secrets,
    receiver_push_secret,
    revoke_node_tokens,
    rotate_push_secret,
    set_node_endpoint,
)
from gateway.runtime import Runtime
from gateway.settings import Settings

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
_OVERLAP_NOTE = (
    "过渡期内每次推送同时带新旧两个签名，接收端可随时换用新密钥；过渡期结束（或 --finish）后"
    "只带新签名。During the overlap every push carries a signature under each secret, so the "
    "receiver may switch to the new one at any moment; after it (or --finish) only the new one."
)


def _endpoint_check(settings: Settings) -> EndpointCheck:
    policy = NetworkPolicy.of(
        settings.endpoint_allowed_networks, production=settings.env == "production"
    )
    return EndpointCheck(policy, settings.endpoint_resolve_timeout_s)


def _shown(endpoint: str | None) -> str | None:
    """Endpoints are shown without userinfo or query (they may hold the receiver's
    credentials)."""
    return None if endpoint is None else redact(endpoint)


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
    with runtime() as rt, rt.writing() as session:
        try:
            registered = register_node(
                session,
                routing=rt.routing(),
                reference=rt.reference(),
                code=code,
                name=name,
                role=role,
                endpoint=endpoint,
                now=rt.time.now(),
                endpoint_check=_endpoint_check(rt.settings),
            )
        except GatewayError as exc:
            fail(exc)
        session.commit()
        row, token = registered.row, registered.token
        shown: dict[str, object] = {
            "code": row.code,
            "name": row.name,
            "role": row.role,
            "endpoint": _shown(row.endpoint),
            "token": token,
            "note": "令牌只显示这一次，请妥善保存。The token is shown only once.",
        }
        if registered.routed:
            # 等待节点的报文已路由给它；推送的由投递进程在对账时补入队列
            shown["routed_waiting"] = len(registered.routed)
            shown["routed_waiting_note"] = (
                f"{len(registered.routed)} 份待匹配（无节点）报文已路由至该节点，期限自现在起算。"
                f"{len(registered.routed)} message(s) waiting for a node were routed to it; "
                "their deadlines count from now."
            )
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
                    "endpoint": _shown(r.endpoint),
                    "push_secret_version": r.push_secret_version,
                    "created_at": r.created_at.isoformat(),
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in rows
            ]
        )


REVOKE_HELP = (
    "注销节点（该代码下所有在用登记）。令牌在数据库中立即失效；命令随即经 Redis 通知各 API "
    "进程清除其令牌缓存，收到通知的进程立即拒绝该令牌。Redis 不可达（或某进程与 Redis 的订阅"
    "恰好中断）时，该进程最迟在令牌缓存时间 GATEWAY_TOKEN_CACHE_S（默认 5 秒）后拒绝；命令会"
    "说明是哪种情况。\n\n"
    "Revoke a node (every active registration of the code). The token is revoked in the "
    "database at once; the command then tells every API process over Redis to drop it from its "
    "token cache, and each process that gets the notice refuses the token at once. When Redis "
    "cannot be reached (or a process's subscription is broken at that moment) that process "
    "refuses it at the latest after the token cache time GATEWAY_TOKEN_CACHE_S (default 5 s); "
    "the command says which happened."
)


@app.command("revoke", help=REVOKE_HELP)
def revoke(code: Annotated[str, typer.Argument(help="区划代码 / division code")]) -> None:
    with runtime() as rt:
        with rt.session() as session:
            try:
                digests = revoke_node_tokens(session, code, rt.time.now())
            except GatewayError as exc:
                fail(exc)
            session.commit()
        told = announce_revocation(rt, code, digests)
        print_json({"code": code, "revoked": len(digests), **told})


def announce_revocation(rt: Runtime, code: str, digests: list[str]) -> dict[str, object]:
    """Tell the API processes (over the configured Redis, or the embedded one of a running
    `gateway serve` on this data directory); returns what the operator is told."""
    settings = rt.settings
    ttl = settings.token_cache_s
    url = settings.redis_url or embedded_redis_url(settings.data_dir)
    if url is None:
        typer.echo(
            f"未发现运行中的网关（内置 Redis）；若网关在别处运行，该令牌最迟 {ttl:g} 秒后失效。"
            f"No running gateway found on this data directory's embedded Redis; a gateway "
            f"running elsewhere refuses the token within {ttl:g} s (GATEWAY_TOKEN_CACHE_S).",
            err=True,
        )
        return {"announced": False, "refused_within_s": ttl}
    try:
        listeners = revocation.announce(url, code, digests, settings.redis_timeout_s)
    except (redis.RedisError, OSError) as exc:
        typer.echo(
            f"Redis 不可达（{type(exc).__name__}），无法通知各网关进程：该令牌最迟 {ttl:g} 秒后"
            f"失效（GATEWAY_TOKEN_CACHE_S）。Redis unreachable ({type(exc).__name__}): the "
            f"gateway processes were not told; they refuse the token within {ttl:g} s "
            "(GATEWAY_TOKEN_CACHE_S).",
            err=True,
        )
        return {"announced": False, "refused_within_s": ttl}
    return {"announced": True, "listening_processes": listeners, "refused_within_s": 0}


@app.command(
    "set-endpoint",
    help="更改在用节点的推送地址（--clear 取消推送，只拉取）。此后路由到该节点的报文推送到新"
    "地址；尚未投递的推送在下次尝试时改用新地址；之前无地址时已收到的报文不补推，仍可拉取。"
    "Change an active node's push endpoint (--clear: pull only). Messages routed to it from "
    "now on are pushed there; open pushes use it at their next attempt; messages it received "
    "while it had no endpoint are not pushed afterwards (they stay in its inbox).",
)
def set_endpoint(
    code: Annotated[str, typer.Argument(help="区划代码 / division code")],
    url: Annotated[str | None, typer.Argument(help="推送地址 / push endpoint URL")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="取消推送 / no push endpoint")] = False,
) -> None:
    if (url is None) == (not clear):
        typer.echo("给出地址或 --clear（二选一）/ give a URL or --clear, not both", err=True)
        raise typer.Exit(2)
    with runtime() as rt, rt.writing() as session:
        try:
            receiver = set_node_endpoint(session, code, url, _endpoint_check(rt.settings))
        except GatewayError as exc:
            fail(exc)
        session.commit()
        rt.invalidate_routing()
        print_json({"code": receiver.code, "endpoint": _shown(receiver.endpoint)})


def _secrets_json(secrets: PushSecrets) -> dict[str, object]:
    shown: dict[str, object] = {
        "code": secrets.code,
        "endpoint": _shown(secrets.endpoint),
        "push_secret": secrets.secret,
        "push_secret_version": secrets.version,
    }
    if secrets.previous_secret is not None and secrets.overlap_until is not None:
        shown["previous_push_secret"] = secrets.previous_secret
        shown["previous_push_secret_version"] = secrets.previous_version
        shown["overlap_until"] = secrets.overlap_until.isoformat()
        shown["overlap_note"] = _OVERLAP_NOTE
    shown["note"] = _RECEIVER_NOTE
    return shown


@app.command(
    "push-secret",
    help="显示在用节点的推送签名密钥（交给其接收端验证推送）；轮换过渡期内也显示旧密钥。"
    "Show an active node's push signing secret (for its receiver to verify pushes); during a "
    "rotation's overlap the previous one too.",
)
def push_secret_(code: Annotated[str, typer.Argument(help="区划代码 / division code")]) -> None:
    with runtime() as rt, rt.session() as session:
        try:
            secrets = node_push_secrets(session, code, rt.settings.push_signing_key, rt.time.now())
        except GatewayError as exc:
            fail(exc)
        print_json(_secrets_json(secrets))


@app.command(
    "rotate-push-secret",
    help="给节点换新的推送签名密钥：过渡期（--overlap-hours，默认 GATEWAY_PUSH_SECRET_OVERLAP_"
    "HOURS=72）内每次推送同时用新旧密钥签名，接收端可从容换用新密钥；--finish 立即结束过渡期。"
    "Give the node a new push secret: for the overlap (--overlap-hours, default "
    "GATEWAY_PUSH_SECRET_OVERLAP_HOURS=72) every push is signed with the new and the previous "
    "secret, so the receiver can switch when ready; --finish ends the overlap at once.",
)
def rotate_push_secret_(
    code: Annotated[str, typer.Argument(help="区划代码 / division code")],
    overlap_hours: Annotated[
        float | None,
        typer.Option("--overlap-hours", min=0, help="过渡期小时数 / hours both secrets sign"),
    ] = None,
    finish: Annotated[
        bool, typer.Option("--finish", help="立即结束过渡期 / end the overlap now")
    ] = False,
) -> None:
    if finish and overlap_hours is not None:
        typer.echo("--finish 与 --overlap-hours 不能同用 / not both", err=True)
        raise typer.Exit(2)
    with runtime() as rt, rt.writing() as session:
        key, now = rt.settings.push_signing_key, rt.time.now()
        try:
            if finish:
                secrets = finish_push_secret_rotation(session, code, key, now)
            else:
                hours = rt.settings.push_secret_overlap_hours
                overlap = timedelta(hours=hours if overlap_hours is None else overlap_hours)
                secrets = rotate_push_secret(session, code, key, now, overlap)
        except GatewayError as exc:
            fail(exc)
        session.commit()
        print_json(_secrets_json(secrets))
