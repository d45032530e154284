"""`gateway worker` and `gateway delivery …` — 推送投递 / push delivery."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from gateway.cli.common import print_json, runtime, startup_settings
from gateway.delivery import repository
from gateway.delivery import service as delivery_service
from gateway.delivery.queue import DeliveryQueue
from gateway.delivery.worker import DeliveryWorker, http_client
from gateway.embedded_redis import async_redis_client
from gateway.logs import configure_logging
from gateway.nodes.service import set_delivery_paused
from gateway.runtime import Runtime

WORKER_HELP = (
    "运行推送投递进程：把报文推送到各节点登记的地址，失败按退避重试，超时未成则转为死信"
    "（仍可从收件箱收取）。需要 GATEWAY_REDIS_URL（与网关相同的 Redis）。\n\n"
    "Run a delivery worker: push messages to the nodes' endpoints, retry with backoff, "
    "give up after the configured time (the message stays pullable). Needs GATEWAY_REDIS_URL, "
    "the same Redis as the gateway's."
)

app = typer.Typer(no_args_is_help=True, help="推送投递管理 / push delivery administration.")


def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="在此端口提供 /metrics / serve Prometheus metrics here")
    ] = None,
) -> None:
    settings = startup_settings()  # exit 2 naming the setting when it may not run
    if not settings.redis_url:
        typer.echo(
            "需要 GATEWAY_REDIS_URL / GATEWAY_REDIS_URL is required "
            "(`gateway serve` runs a worker itself on the embedded default)",
            err=True,
        )
        raise typer.Exit(2)
    configure_logging()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    with runtime() as rt:
        rt.redis_url = settings.redis_url
        asyncio.run(_run_worker(rt))


async def _run_worker(rt: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    redis_async = async_redis_client(rt.redis_url, rt.settings)
    client = http_client(rt.settings.delivery_timeout_s, rt.settings.delivery_concurrency)
    try:
        queue = DeliveryQueue(redis_async, claim_idle_ms=int(rt.settings.delivery_lease_s * 1000))
        await DeliveryWorker(rt, queue, client).run(stop)
    finally:
        await client.aclose()
        await redis_async.aclose()


@app.command(
    "retry",
    help="把死信重新排队投递（给出报文编号，或 --node，或 --all-dead）。"
    "Re-queue dead messages: by id, for a node, or all.",
)
def retry(
    message_ids: Annotated[list[str] | None, typer.Argument(help="报文编号 / message ids")] = None,
    node: Annotated[str | None, typer.Option("--node", help="节点代码 / node code")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="全部死信 / every dead one")] = False,
) -> None:
    if not (message_ids or node or all_dead):
        typer.echo("给出报文编号、--node 或 --all-dead / give ids, --node or --all-dead", err=True)
        raise typer.Exit(2)
    with runtime() as rt, rt.writing() as session:
        ids = delivery_service.requeue(
            session,
            now=rt.time.now(),
            message_ids=message_ids or (),
            node_code=node,
            all_dead=all_dead,
        )
        session.commit()
    if ids:
        _enqueue_now(rt, ids)
    print_json({"requeued": len(ids), "message_ids": ids})


def _enqueue_now(rt: Runtime, ids: list[str]) -> None:
    """Tell Redis at once when it is reachable; otherwise the workers' reconciler will."""
    url = rt.settings.redis_url
    if not url:
        return  # the embedded Redis lives inside `gateway serve`: its reconciler picks these up

    async def push() -> None:
        client = async_redis_client(url, rt.settings)
        try:
            await DeliveryQueue(client).enqueue(ids)
        finally:
            await client.aclose()

    try:
        asyncio.run(push())
    except Exception as exc:  # the reconciler will enqueue them
        typer.echo(
            f"Redis 暂不可用，稍后自动补排 / Redis unavailable: {type(exc).__name__}", err=True
        )


def _set_paused(code: str, paused: bool) -> None:
    with runtime() as rt, rt.writing() as session:
        count = set_delivery_paused(session, code, paused)
        session.commit()
    if count == 0:
        typer.echo(f"无在用节点 / no active node {code}", err=True)
        raise typer.Exit(1)
    print_json({"node": code, "paused": paused})


@app.command("pause", help="暂停向某节点推送重试（仍可拉取）。Pause push retries to a node.")
def pause(node: Annotated[str, typer.Option("--node", help="节点代码 / node code")]) -> None:
    _set_paused(node, True)


@app.command("resume", help="恢复向某节点推送。Resume pushes to a node.")
def resume(node: Annotated[str, typer.Option("--node", help="节点代码 / node code")]) -> None:
    _set_paused(node, False)


@app.command("status", help="各状态投递数与各节点死信数。Deliveries by state; dead per node.")
def status() -> None:
    with runtime() as rt, rt.session() as session:
        print_json(
            {
                "by_state": repository.state_counts(session),
                "dead_by_node": repository.dead_counts(session),
            }
        )
