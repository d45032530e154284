"""One request must never fail another: whatever one submission holds (a date the calendar
cannot count, an unexpected error while deciding it, a row the database refuses), it fails
alone, with a 4xx naming the field where the input is at fault, and every other submission
written in the same group transaction is stored and answered 202."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.messages.service import Accepted, Ingestor, ItemResult, Prepared, _Batch
from gateway.messages.writer import GroupWriter
from gateway.nodes.service import Principal
from tests.api.conftest import TIMEOUT, Harness, example, running_gateway
from tests.conftest import STACKS


def _poisons() -> list[tuple[dict[str, Any], str]]:
    """Messages that once raised inside the group writer (and failed every submission
    grouped with them), with the field the refusal must name."""
    out = []
    old = example("notification.other")
    old["body"]["event_date"] = "1900-01-01"
    out.append((old, "body.event_date"))
    for created_at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        out.append((example("notification.other", created_at=created_at), "created_at"))
    late = example("notification.other", created_at="2099-12-31T10:00:00+08:00")
    late["body"]["event_date"] = "2099-12-30"  # its submission window ends in 2100
    out.append((late, "body.event_date"))
    return out


def test_poison_submissions_fail_alone_while_other_clients_submit(gw: Harness) -> None:
    residence, origin = gw.token("441900"), gw.token("430582")
    valid = [example("notification.pregnancy") for _ in range(120)]
    poisons = _poisons() * 6
    jobs: list[tuple[dict[str, Any], str | None]] = [(m, None) for m in valid]
    for i, (poison, field) in enumerate(poisons):  # spread among the valid ones
        jobs.insert(i * 5, (poison, field))

    def post(job: tuple[dict[str, Any], str | None]) -> tuple[httpx.Response, str | None]:
        body, field = job
        with httpx.Client(base_url=gw.url, timeout=TIMEOUT) as client:
            response = client.post(
                "/api/v1/messages",
                content=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {residence}",
                    "Content-Type": "application/json",
                },
            )
        return response, field

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, jobs))
    for response, field in answers:
        if field is None:
            assert response.status_code == 202, response.text
        else:
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert gw.count_messages() == len(valid)
    inbox = httpx.get(
        f"{gw.url}/api/v1/inbox",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {origin}"},
        timeout=TIMEOUT,
    ).json()
    assert len(inbox["messages"]) == len(valid)


def test_poison_items_in_a_batch_fail_alone(gw: Harness) -> None:
    residence = gw.node("441900")
    valid = [example("notification.pregnancy") for _ in range(5)]
    poisons = _poisons()
    items = [valid[0], poisons[0][0], valid[1], poisons[1][0], valid[2], poisons[2][0]]
    items += [valid[3], poisons[3][0], valid[4]]
    response = residence.post("/api/v1/messages/batch", json={"messages": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 202, 422, 202, 422, 202, 422, 202]
    for result, (_poison, field) in zip(results[1::2], poisons, strict=True):
        fields = [e["field"] for e in result["problem"]["errors"]]
        assert f"messages.{result['index']}.{field}" in fields
    assert gw.count_messages() == 5


def test_an_item_nested_deeper_than_the_encoder_allows_fails_alone(gw: Harness) -> None:
    residence = gw.node("441900")
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(600):  # the parser takes 1,024 levels, the encoder 254
        level["a"] = {}
        level = level["a"]
    valid = example("notification.pregnancy")
    response = residence.post(
        "/api/v1/messages/batch",
        content=json.dumps({"messages": [deep, valid]}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert (first["status"], second["status"]) == (422, 202)
    assert first["problem"]["errors"] == [
        {
            "field": "messages.0",
            "rule": "json_too_deep",
            "message": "nested too deeply / 嵌套层级过深",
        }
    ]
    single = residence.post(
        "/api/v1/messages", content=json.dumps(deep), headers={"Content-Type": "application/json"}
    )
    assert single.status_code == 422, single.text


# --- the group writer, without a server: faults injected into one item -------------------


class _FailingIngestor(Ingestor):
    """Fault injection: deciding the item with this id raises, as a bug would."""

    def __init__(self, *args: Any, fail: str, fault: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail, self.fault = fail, fault

    def decide(self, item: Prepared, batch: _Batch) -> Accepted:
        accepted = super().decide(item, batch)
        if item.message_id == self.fail:
            if self.fault == "raise":
                raise RuntimeError("injected")
            # a row the database refuses: NOT NULL content_hash
            batch.rows[-1]["content_hash"] = None
        return accepted


@pytest.fixture(params=STACKS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path) as gw:
        yield gw


@pytest.mark.parametrize("fault", ["raise", "database"])
def test_a_fault_in_one_item_fails_that_item_alone(harness: Harness, fault: str) -> None:
    gw = harness
    gw.token("441900")
    gw.token("430582")
    runtime = gw.runtime
    principal = Principal("441900", "测试", "node")
    secret = b"k" * 32
    other = [example("notification.pregnancy") for _ in range(3)]
    mine = [example("notification.pregnancy") for _ in range(3)]
    keys = (runtime.sealer, runtime.receipts)
    clean = Ingestor(
        principal, runtime.routing(), runtime.reference(), gw.time.now(), secret, *keys
    )
    faulty = _FailingIngestor(
        principal,
        runtime.routing(),
        runtime.reference(),
        gw.time.now(),
        secret,
        *keys,
        fail=mine[1]["message_id"],
        fault=fault,
    )

    async def write_both() -> list[list[ItemResult]]:
        writer = GroupWriter(runtime)
        both = asyncio.gather(
            writer.record(clean, clean.prepare([json.dumps(m).encode() for m in other])),
            writer.record(faulty, faulty.prepare([json.dumps(m).encode() for m in mine])),
        )
        await asyncio.sleep(0.05)  # both queued before the writer starts: one transaction
        assert writer.queued() == 2
        writer.start()
        try:
            return list(await both)
        finally:
            writer.stop()

    clean_results, faulty_results = asyncio.run(write_both())
    assert [r.accepted is not None for r in clean_results] == [True, True, True]
    assert [r.accepted is not None for r in faulty_results] == [True, False, True]
    failed = faulty_results[1].error
    assert failed is not None and failed.status == 500
    assert gw.count_messages() == 5
