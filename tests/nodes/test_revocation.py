"""`gateway node revoke` takes effect at once in every API process, although each keeps
tokens it looked up for GATEWAY_TOKEN_CACHE_S: the CLI announces the revocation over Redis
(the configured one, or the embedded one of a `gateway serve` on the same data directory)
and each process drops the token from its cache. Without Redis the CLI says how long it
takes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.embedded_redis import EmbeddedRedis
from gateway.nodes.revocation import RevocationFollower
from gateway.nodes.service import Principal, revoke_node
from gateway.nodes.token_cache import TokenCache
from tests.api.conftest import Harness, running_gateway
from tests.conftest import STACKS

runner = CliRunner()
CACHE_S = 5.0


def operator_env(gw: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The operator's shell beside this gateway: its data directory and database; a Redis
    URL only when the gateway has a configured one (else the CLI finds the embedded one)."""
    settings = gw.runtime.settings
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.resolved_database_url())
    if settings.redis_url:
        monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url)


def revoke(code: str) -> dict[str, Any]:
    result = runner.invoke(app, ["node", "revoke", code])
    assert result.exit_code == 0, result.output
    output: dict[str, Any] = json.loads(result.stdout)
    return output


@pytest.mark.parametrize("kind", STACKS)
def test_a_revoked_token_is_refused_at_once_despite_the_cache(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_gateway(kind, tmp_path, token_cache_s=CACHE_S) as gw:
        revoked = gw.node("430582")
        control = gw.node("430524")
        for client in (revoked, control):
            assert client.get("/api/v1/inbox").status_code == 200  # looked up, now cached

        # the cache is real: a revocation nobody announces is not seen yet
        with gw.runtime.session() as session:
            revoke_node(session, "430524", gw.time.now())
            session.commit()
        assert control.get("/api/v1/inbox").status_code == 200

        operator_env(gw, monkeypatch, tmp_path)
        told = revoke("430582")  # what an operator types
        assert told["revoked"] == 1 and told["announced"] is True
        assert told["listening_processes"] >= 1 and told["refused_within_s"] == 0
        assert revoked.get("/api/v1/inbox").status_code == 401  # the very next request


def test_without_redis_the_cli_says_how_long_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["node", "add", "430582", "--name", "邵东"]).exit_code == 0
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    result = runner.invoke(app, ["node", "revoke", "430582"])
    assert result.exit_code == 0, result.output
    told = json.loads(result.stdout)
    assert told == {
        "code": "430582",
        "revoked": 1,
        "announced": False,
        "refused_within_s": 5.0,
    }
    assert "5 s" in result.stderr and "GATEWAY_TOKEN_CACHE_S" in result.stderr
    assert "Redis" in result.stderr


def test_the_help_states_the_guarantee() -> None:
    shown = runner.invoke(app, ["node", "revoke", "--help"], terminal_width=200)
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert "GATEWAY_TOKEN_CACHE_S" in text and "at once" in text and "立即" in text


def test_after_its_subscription_breaks_a_process_empties_its_cache(tmp_path: Path) -> None:
    """Notices published while a process was not subscribed are lost: when it subscribes
    again it forgets every cached token."""
    server = EmbeddedRedis(tmp_path)
    cache = TokenCache(60)

    async def scenario() -> None:
        follower = RevocationFollower(server.url, cache, timeout_s=2.0)
        stop = asyncio.Event()
        assert await follower.subscribe()
        task = asyncio.create_task(follower.run(stop))
        try:
            cache.put("a", Principal("430582", "邵东", "node"))
            cache.put("b", Principal("430524", "新邵", "node"))
            admin = redis.Redis.from_url(server.url)
            try:
                # a notice drops exactly what it names
                admin.publish(
                    "gw:tokens:revoked", json.dumps({"code": "430582", "token_hashes": []})
                )
                for _ in range(100):
                    if cache.get("a") == (False, None):
                        break
                    await asyncio.sleep(0.02)
                assert cache.get("a") == (False, None)
                assert cache.get("b")[0] is True
                # the subscription's connection dies (a Redis restart, a network cut)
                [pubsub] = admin.client_list(_type="pubsub")
                admin.client_kill_filter(_id=pubsub["id"])
            finally:
                admin.close()
            for _ in range(200):
                if follower.subscriptions >= 2:
                    break
                await asyncio.sleep(0.02)
            assert follower.subscriptions >= 2
            assert cache.get("b") == (False, None)
        finally:
            stop.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await follower.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
