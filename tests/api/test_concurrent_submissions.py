"""Many requests at once, through the group writer, and two gateways on one database:
every message is stored once, repeats are answered as duplicates, conflicts as 409."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from gateway.messages import repository, service
from gateway.messages.repository import Stored
from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import ManualTime
from tests.api.conftest import START, TIMEOUT, Harness, example


def test_concurrent_requests_store_each_message_once(gw: Harness) -> None:
    token = gw.token("441900")
    gw.token("430582")
    messages = [example("notification.pregnancy") for _ in range(40)]
    repeated = messages[:10]  # sent twice, same content
    conflicting = [dict(m, created_at="2026-11-22T08:00:00+08:00") for m in messages[10:15]]
    bodies = [*messages, *repeated, *conflicting]

    def post(body: dict[str, object]) -> httpx.Response:
        with httpx.Client(base_url=gw.url, timeout=TIMEOUT) as client:
            return client.post(
                "/api/v1/messages", json=body, headers={"Authorization": f"Bearer {token}"}
            )

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(post, bodies))
    statuses = [r.status_code for r in responses]
    assert statuses.count(202) == 50 and statuses.count(409) == 5, statuses
    duplicates = [r.json()["duplicate"] for r in responses if r.status_code == 202]
    assert duplicates.count(True) == 10
    assert gw.count_messages() == 40
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert {e["rule"] for c in conflicts for e in c["errors"]} == {"idempotency_conflict"}


def test_two_gateways_on_one_database_race_on_the_same_ids(
    stack: tuple[str, str], tmp_path: Path
) -> None:
    database_url, redis_url = stack
    gateways = []
    try:
        for name in ("a", "b"):
            settings = Settings(
                data_dir=tmp_path / name,
                # one deployment: every process holds the same keys (docs/privacy.md)
                keyring_file=tmp_path / "keys" / "keyring.toml",
                receipt_keys_file=tmp_path / "keys" / "receipt-keys.toml",
                database_url=database_url,
                redis_url=redis_url,
                token_cache_s=0,
            )
            gateway = Gateway(settings, time_source=ManualTime(START))
            runtime = gateway.start()
            server = BackgroundServer(uvicorn_config(runtime, "127.0.0.1", 0, log_level="warning"))
            server.__enter__()
            gateways.append((gateway, server))
        first = Harness(
            f"http://127.0.0.1:{gateways[0][1].port}", gateways[0][0].runtime, ManualTime(START)
        )  # type: ignore[arg-type]
        token = first.token("441900")
        first.token("430582")
        urls = [f"http://127.0.0.1:{server.port}" for _gateway, server in gateways]
        messages = [example("notification.birth") for _ in range(20)]
        jobs = [(url, msg) for msg in messages for url in urls]  # each id to both, at once

        def post(job: tuple[str, dict[str, object]]) -> httpx.Response:
            url, body = job
            with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
                return client.post(
                    "/api/v1/messages",
                    content=json.dumps(body),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(post, jobs))
        assert [r.status_code for r in responses] == [202] * 40, [r.text for r in responses]
        assert sorted(r.json()["duplicate"] for r in responses) == [False] * 20 + [True] * 20
        assert first.count_messages() == 20
    finally:
        for gateway, server in reversed(gateways):
            server.__exit__(None, None, None)
            gateway.stop()


def test_insert_race_with_another_process_is_retried_and_answered_as_duplicate(
    gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic version of the race: the first look-up misses a row another process
    has just stored, the insert hits the unique key, the writer retries the submission alone
    and the second look-up answers it as a duplicate."""
    token = gw.token("441900")
    gw.token("430582")
    msg = example("notification.pregnancy")
    with httpx.Client(base_url=gw.url, timeout=TIMEOUT) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/messages", json=msg, headers=headers).status_code == 202
        real = repository.find_stored
        calls: list[int] = []

        def stale_once(session: Session, ids: Iterable[str]) -> dict[str, Stored]:
            calls.append(1)
            return {} if len(calls) == 1 else real(session, ids)

        monkeypatch.setattr(service.repository, "find_stored", stale_once)
        again = client.post("/api/v1/messages", json=msg, headers=headers)
    assert again.status_code == 202, again.text
    assert again.json()["duplicate"] is True
    assert len(calls) == 2  # the stale look-up, then the retry
    assert gw.count_messages() == 1
