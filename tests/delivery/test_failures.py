"""Push delivery when things go wrong, against real HTTP receivers and real Redis, on both
stacks: receivers that fail, hang, throttle, refuse or vanish; an operator who pauses a node
or re-queues dead letters; a Redis that forgets the whole schedule. In every case the
database's attempt rows tell exactly what happened, nothing is delivered twice in the record,
and nothing is lost: what push could not deliver stays in the inbox.

Timing bounds come from the FAST settings (tests/delivery/conftest.py): backoff base 0.2 s,
cap 1 s, HTTP timeout 0.5 s, promote loop every 0.5 s, reconciler every 0.5 s.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from gateway.delivery import repository
from gateway.delivery.models import DELIVERIES
from gateway.delivery.policy import RETRY, Verdict, backoff_s, next_delay_s
from gateway.embedded_redis import EmbeddedRedis
from gateway.nodes import repository as nodes_repository
from gateway.nodes.service import set_delivery_paused
from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import SystemTime
from message_schemas.http import parse_retry_after
from tests.api.conftest import Harness, example
from tests.conftest import STACKS, stack_urls
from tests.delivery.conftest import FAST, pushing_gateway, status, wait_until
from tests.delivery.receivers import Behaviour, receiver
from tests.synthetic import make_id

pytestmark = pytest.mark.timeout(45)

RESIDENCE, ORIGIN = "441900", "430582"  # sender and recipient of the example messages
BASE_S = float(FAST["delivery_backoff_base_s"])
CAP_S = float(FAST["delivery_backoff_cap_s"])
TIMEOUT_S = float(FAST["delivery_timeout_s"])
# A retry becomes due at its drawn time, but is only moved to the ready stream by the promote
# loop (every 0.5 s) and then taken by a round: allow that much on top of the drawn delay.
SLACK_S = 1.2
# httpx's timeout classes (what a hanging receiver produces; the attempt row names the class)
TIMEOUT_ERRORS = {"ReadTimeout", "WriteTimeout", "ConnectTimeout", "PoolTimeout"}
runner = CliRunner()


# -- helpers ----------------------------------------------------------------------------------
def person(seq: int, **changes: Any) -> dict[str, Any]:
    """The pregnancy example about another (synthetic) woman: same birth date, own ID."""
    doc = example("notification.pregnancy", **changes)
    doc["subject"]["id_number"] = make_id("430582", date(1993, 6, 11), seq)
    return doc


def submit(client: httpx.Client, *messages: dict[str, Any]) -> list[str]:
    """Submit in one batch (one transaction, enqueued together, in this order)."""
    response = client.post("/api/v1/messages/batch", json={"messages": list(messages)})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(messages), response.text
    return [m["message_id"] for m in messages]


def attempts(gw: Harness, message_id: str) -> list[dict[str, Any]]:
    with gw.runtime.session() as session:
        return repository.attempts_of(session, message_id)


def outcomes(gw: Harness, message_id: str) -> list[str]:
    return [a["outcome"] for a in attempts(gw, message_id)]


def delivery(gw: Harness, message_id: str) -> dict[str, Any] | None:
    """The message's outbox row, or None when it has none."""
    with gw.runtime.session() as session:
        row = (
            session.connection()
            .execute(select(DELIVERIES).where(DELIVERIES.c.message_id == message_id))
            .first()
        )
    return dict(row._mapping) if row is not None else None


def state(gw: Harness, message_id: str) -> str | None:
    row = delivery(gw, message_id)
    return None if row is None else str(row["state"])


def in_inbox(client: httpx.Client, message_id: str) -> bool:
    response = client.get("/api/v1/inbox", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return message_id in {m["message_id"] for m in response.json()["messages"]}


def gateway_cli(gw: Harness, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    """Run `gateway …` as an operator would, against this gateway's database and Redis (the
    embedded Redis through its Unix socket), and return its JSON output."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gw.runtime.settings.resolved_database_url())
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(gw.runtime.sealer.keys.path))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(gw.runtime.receipts.keys.path))
    monkeypatch.setenv("GATEWAY_REDIS_URL", gw.runtime.redis_url)
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def reconciled() -> float:
    """How many deliveries the (in-process) reconciler has put back into Redis so far."""
    return REGISTRY.get_sample_value("gateway_delivery_reconciled_total") or 0.0


# -- 1. fails three times, then delivered, with the backoff between the tries -----------------
def test_fails_three_times_then_delivered_at_the_fourth_within_backoff(push_gw: Harness) -> None:
    with receiver(Behaviour(fail_first=3)) as county:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: state(push_gw, mid) == "delivered", 12)
        rows = attempts(push_gw, mid)
        assert [a["outcome"] for a in rows] == ["retry", "retry", "retry", "delivered"]
        assert [a["attempt_no"] for a in rows] == [1, 2, 3, 4]
        assert [a["status_code"] for a in rows] == [503, 503, 503, 200]
        assert status(residence, mid)["delivery"] == "delivered"

        with county.lock:
            hits = [(t, d) for t, m, d in county.hits if m == mid]
        assert [d for _t, d in hits] == [f"{mid}/{n}" for n in (1, 2, 3, 4)]
        # after the n-th failure the wait is drawn from uniform(0, min(cap, base·2^(n-1)))
        for n, ((before, _), (after, _)) in enumerate(pairwise(hits), start=1):
            ceiling = min(CAP_S, BASE_S * 2 ** (n - 1))
            assert 0 <= after - before <= ceiling + SLACK_S, (n, after - before, ceiling)


def test_backoff_draws_stay_within_full_jitter_bounds_and_honour_retry_after() -> None:
    """The policy alone, exactly: the end-to-end gaps above need slack for the promote loop."""

    class Highest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    for n, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (30, 1.0)]:
        assert backoff_s(n, BASE_S, CAP_S, Highest()) == pytest.approx(ceiling)
        draws = [backoff_s(n, BASE_S, CAP_S, random.Random(seed)) for seed in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
    throttled = Verdict(RETRY, "429", retry_after_s=1.0)
    assert next_delay_s(throttled, 1, BASE_S, CAP_S, random.Random(1)) == 1.0
    # honoured up to the cap only
    assert next_delay_s(Verdict(RETRY, "429", 3600.0), 1, BASE_S, CAP_S) == CAP_S
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert parse_retry_after("1", now) == 1.0
    assert parse_retry_after("Mon, 23 Nov 2026 02:00:30 GMT", now) == 30.0
    # digits other than ASCII ones (a latin-1 "²" from a misbehaving receiver) are no number
    for bad in ("²", "١", "soon", "", None, "-1", "1.5"):
        assert parse_retry_after(bad, now) is None, bad


# -- 2. a receiver that hangs past the timeout ------------------------------------------------
def test_a_hanging_receiver_times_out_and_is_retried_until_it_answers(push_gw: Harness) -> None:
    hang_s = TIMEOUT_S + 1.0
    with receiver(Behaviour(hang_s=hang_s)) as county:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: outcomes(push_gw, mid).count("retry") >= 2, 10)
        county.behaviour = Behaviour()
        assert wait_until(lambda: state(push_gw, mid) == "delivered", 10)

        rows = attempts(push_gw, mid)
        assert rows[-1]["outcome"] == "delivered" and rows[-1]["status_code"] == 200
        timed_out = rows[:-1]
        assert len(timed_out) >= 2
        for row in timed_out:
            assert row["outcome"] == "retry"
            assert row["error"] in TIMEOUT_ERRORS, row
            assert row["status_code"] is None
            # the attempt was cut at the timeout, not held until the receiver answered
            assert TIMEOUT_S * 1000 * 0.9 <= row["latency_ms"] < hang_s * 1000, row
        assert [r["outcome"] for r in rows].count("delivered") == 1
        assert len(county.seen(mid)) == len(rows)


# -- 3. 429 with Retry-After ------------------------------------------------------------------
def test_retry_after_is_honoured_even_when_the_backoff_draws_less(push_gw: Harness) -> None:
    with receiver(Behaviour(status=429, retry_after="1")) as county:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: len(county.seen(mid)) >= 2, 8)
        county.behaviour = Behaviour()
        assert wait_until(lambda: state(push_gw, mid) == "delivered", 8)

        rows = attempts(push_gw, mid)
        assert [r["status_code"] for r in rows[:-1]] == [429] * (len(rows) - 1)
        assert {r["outcome"] for r in rows[:-1]} == {"retry"}
        assert rows[-1]["outcome"] == "delivered"
        hits = county.seen(mid)
        assert len(hits) == len(rows) >= 3
        # every attempt followed a 429 asking for 1 s; the backoff alone would have drawn at
        # most 0.2 s, 0.4 s, 0.8 s
        for before, after in pairwise(hits):
            assert after - before >= 0.95, after - before


def test_a_retry_after_that_is_no_number_is_ignored_and_breaks_nothing(push_gw: Harness) -> None:
    """A receiver's malformed header must cost neither the attempt row nor the round."""
    with receiver(Behaviour(status=429, retry_after="²")) as county:  # sent as latin-1 0xB2
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: outcomes(push_gw, mid).count("retry") >= 2, 8)
        county.behaviour = Behaviour()
        assert wait_until(lambda: state(push_gw, mid) == "delivered", 8)
        rows = attempts(push_gw, mid)
        for row in rows[:-1]:
            assert (row["status_code"], row["error"], row["outcome"]) == (429, None, "retry")
        assert rows[-1]["outcome"] == "delivered"


# -- 4. a permanent failure -------------------------------------------------------------------
def test_400_is_dead_at_once_and_the_message_stays_pullable(push_gw: Harness) -> None:
    with receiver(Behaviour(status=400)) as county:
        residence = push_gw.node(RESIDENCE)
        origin = push_gw.client(push_gw.token(ORIGIN, endpoint=county.url))
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: state(push_gw, mid) == "dead", 8)
        rows = attempts(push_gw, mid)
        assert [(r["outcome"], r["status_code"]) for r in rows] == [("dead", 400)]
        assert status(residence, mid)["delivery"] == "dead"
        time.sleep(1.0)  # a retry would come within 0.2 s backoff + 0.5 s promote
        assert len(county.seen(mid)) == 1
        assert len(attempts(push_gw, mid)) == 1

        assert in_inbox(origin, mid)  # pull still works
        assert status(residence, mid)["delivery"] == "pulled"


def test_an_unusable_endpoint_is_recorded_and_spares_the_rest_of_the_round(
    push_gw: Harness,
) -> None:
    """Registration refuses a port that is no number or out of range (url_port), but rows
    stored before it did may hold one. The worker checks every endpoint before it sends: such
    an endpoint is dead at once (``endpoint_invalid``: it never becomes usable by retrying —
    the port out of range was retried as OverflowError until the give-up time), each is an
    attempt row, and a message to a healthy node taken in the same round is delivered and
    recorded once."""
    with receiver() as healthy:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint="http://127.0.0.1:1/gateway/inbox")
        push_gw.token("430524", endpoint="http://127.0.0.1:2/gateway/inbox")
        push_gw.token("430522", endpoint=healthy.url)
        with push_gw.runtime.writing() as session:  # as an older version stored them
            for code, url in ((ORIGIN, "http://127.0.0.1:abc/in"), ("430524", "http://h:99999/")):
                assert nodes_repository.set_endpoint(session, code, url) == 1
            session.commit()
        bad_url, bad_port, good = submit(
            residence,
            example("notification.pregnancy"),
            person(10, recipient="430524"),
            person(12, recipient="430522"),
        )

        assert wait_until(lambda: state(push_gw, good) == "delivered", 8)
        for bad in (bad_url, bad_port):
            assert wait_until(lambda bad=bad: state(push_gw, bad) == "dead", 8)
            assert [(r["outcome"], r["error"]) for r in attempts(push_gw, bad)] == [
                ("dead", "endpoint_invalid")
            ]
        assert outcomes(push_gw, good) == ["delivered"]
        assert len(healthy.seen(good)) == 1


# -- 5. down for the whole give-up time, then re-queued by the operator -------------------------
@pytest.mark.parametrize("kind", STACKS)
def test_dead_after_give_up_then_requeued_and_delivered_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        pushing_gateway(kind, tmp_path, delivery_give_up_s=2) as gw,
        receiver(Behaviour(down=True)) as county,
    ):
        residence = gw.node(RESIDENCE)
        origin = gw.client(gw.token(ORIGIN, endpoint=county.url))
        [mid] = submit(residence, example("notification.pregnancy"))

        assert wait_until(lambda: state(gw, mid) == "dead", 10)
        rows = attempts(gw, mid)
        assert len(rows) >= 2
        assert [r["outcome"] for r in rows] == ["retry"] * (len(rows) - 1) + ["dead"]
        assert all(r["status_code"] is None and r["error"] for r in rows), rows
        assert status(residence, mid)["delivery"] == "dead"
        assert county.seen(mid) == []  # a down receiver answers nothing
        assert in_inbox(origin, mid)  # dead letters stay pullable

        county.behaviour = Behaviour()
        result = gateway_cli(gw, monkeypatch, "delivery", "retry", "--all-dead")
        assert result == {"requeued": 1, "message_ids": [mid]}
        assert wait_until(lambda: state(gw, mid) == "delivered", 8)
        time.sleep(1.0)  # nothing more is sent
        assert len(county.seen(mid)) == 1
        after = attempts(gw, mid)
        assert after[: len(rows)] == rows
        assert [r["outcome"] for r in after[len(rows) :]] == ["delivered"]
        assert after[-1]["attempt_no"] == len(rows) + 1
        assert status(residence, mid)["delivery"] == "delivered"
        assert gateway_cli(gw, monkeypatch, "delivery", "status")["by_state"] == {"delivered": 1}


# -- 6. order per person ----------------------------------------------------------------------
def test_a_later_message_about_the_same_person_waits_for_the_earlier(push_gw: Harness) -> None:
    first = example("notification.pregnancy")
    second = example("notification.pregnancy")  # same subject.id_number
    other = person(10)  # another person, same node
    with receiver(Behaviour(fail_ids={first["message_id"]: 2})) as county:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        a, b, c = submit(residence, first, second, other)

        assert wait_until(lambda: all(state(push_gw, i) == "delivered" for i in (a, b, c)), 12)
        assert outcomes(push_gw, a) == ["retry", "retry", "delivered"]
        assert outcomes(push_gw, b) == ["delivered"]
        assert outcomes(push_gw, c) == ["delivered"]
        a_hits, b_hits, c_hits = county.seen(a), county.seen(b), county.seen(c)
        assert (len(a_hits), len(b_hits), len(c_hits)) == (3, 1, 1)
        a_delivered = a_hits[-1]
        # the second message about the person reached the receiver only after the first
        assert b_hits[0] > a_delivered
        # the other person's message did not wait for the first person's retries
        assert c_hits[0] < a_delivered
        assert c_hits[0] - a_hits[0] < 0.5


# -- 7. pause and resume ----------------------------------------------------------------------
def test_a_paused_node_gets_nothing_until_resumed(
    push_gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver(Behaviour(status=503)) as county:
        residence = push_gw.node(RESIDENCE)
        push_gw.token(ORIGIN, endpoint=county.url)
        [retrying] = submit(residence, example("notification.pregnancy"))
        assert wait_until(lambda: len(county.seen(retrying)) >= 2, 8)

        paused = gateway_cli(push_gw, monkeypatch, "delivery", "pause", "--node", ORIGIN)
        assert paused == {"node": ORIGIN, "paused": True}
        time.sleep(0.3)  # an attempt claimed just before the pause may still land
        [fresh] = submit(residence, person(10))
        with county.lock:
            seen = len(county.hits)
        time.sleep(1.5)
        with county.lock:
            assert len(county.hits) == seen, "a paused node was sent to"
        assert state(push_gw, retrying) == "retrying"
        assert state(push_gw, fresh) == "pending"

        county.behaviour = Behaviour()
        resumed = gateway_cli(push_gw, monkeypatch, "delivery", "resume", "--node", ORIGIN)
        assert resumed == {"node": ORIGIN, "paused": False}
        assert wait_until(
            lambda: {state(push_gw, retrying), state(push_gw, fresh)} == {"delivered"}, 8
        )
        assert outcomes(push_gw, fresh) == ["delivered"]
        assert outcomes(push_gw, retrying)[-1] == "delivered"
        assert len(county.seen(fresh)) == 1


# -- 8. Redis loses the schedule --------------------------------------------------------------
@contextmanager
def gateway_and_harness(kind: str) -> Iterator[tuple[Gateway, Harness]]:
    """As pushing_gateway, but with the Gateway at hand (its embedded Redis). The data
    directory is short so that a restarted embedded Redis gets the very same socket path
    (EmbeddedRedis falls back to a fresh temporary one past 100 bytes)."""
    tmp = Path(tempfile.mkdtemp(prefix="gw-fail-"))
    try:
        with stack_urls(kind, tmp) as (database_url, redis_url):
            settings = Settings(
                data_dir=tmp / "data",
                database_url=database_url,
                redis_url=redis_url,
                token_cache_s=0,
                **FAST,
            )
            gateway = Gateway(settings, time_source=SystemTime())
            with gateway as runtime:
                if runtime.redis_url.startswith("redis://"):
                    for key in runtime.redis.scan_iter("gw:delivery*"):
                        runtime.redis.delete(key)
                config = uvicorn_config(runtime, "127.0.0.1", 0, worker=True, log_level="warning")
                with BackgroundServer(config) as server:
                    harness = Harness(f"http://127.0.0.1:{server.port}", runtime, SystemTime())  # type: ignore[arg-type]
                    try:
                        yield gateway, harness
                    finally:
                        for client in harness.clients:
                            client.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def held_in_redis(gw: Harness, message_ids: list[str]) -> int:
    client = redis.Redis.from_url(gw.runtime.redis_url, socket_timeout=2)
    try:
        return sum(v is not None for v in client.hmget("gw:delivery:held", message_ids))
    finally:
        client.close()


@pytest.mark.parametrize("kind", STACKS)
def test_redis_losing_the_schedule_loses_no_message(kind: str) -> None:
    with gateway_and_harness(kind) as (gateway, gw), receiver(Behaviour(status=503)) as county:
        residence = gw.node(RESIDENCE)
        gw.token(ORIGIN, endpoint=county.url)
        ids = submit(residence, *(person(10 + 2 * i) for i in range(4)))
        assert wait_until(lambda: all(len(county.seen(i)) >= 2 for i in ids), 10)
        assert all(state(gw, i) == "retrying" for i in ids)

        def lose_the_schedule() -> None:
            if kind == "embedded":
                # the embedded server is ours: stop it, start a new, empty one on its socket
                old = gateway.embedded_redis
                assert old is not None
                old.stop()
                new = EmbeddedRedis(gw.runtime.settings.data_dir)
                gateway.embedded_redis = new  # stopped with the gateway
                assert new.url == gw.runtime.redis_url and new.pid != old.pid
            else:
                # the machine's Redis is shared: never flush it; drop only the delivery keys
                gw.runtime.redis.delete(
                    "gw:delivery:ready", "gw:delivery:delayed", "gw:delivery:held"
                )

        # The reconciler (every 0.5 s) rebuilds the schedule from the database while the
        # receiver still fails. If the loss happened to fall inside a round that had all four
        # in flight, that round's own reschedule put them back and the reconciler had nothing
        # to do: then lose the schedule again (each is a real loss; three in a row in that
        # ~20 ms window do not happen).
        for _ in range(3):
            before = reconciled()
            lose_the_schedule()
            if wait_until(lambda: reconciled() > before, 2):  # noqa: B023  # used at once
                break
        else:
            pytest.fail("the reconciler never restored a lost delivery")
        assert wait_until(lambda: held_in_redis(gw, ids) == len(ids), 5)
        county.behaviour = Behaviour()
        assert wait_until(lambda: all(state(gw, i) == "delivered" for i in ids), 10)
        time.sleep(1.0)  # nothing delivered twice afterwards either
        for i in ids:
            assert county.seen(i), i
            result = outcomes(gw, i)
            assert result.count("delivered") == 1, result
            assert result == ["retry"] * (len(result) - 1) + ["delivered"], result
            assert status(residence, i)["delivery"] == "delivered"


# -- 9. nothing to push: no endpoint, or already acknowledged ---------------------------------
def test_a_node_without_endpoint_gets_no_outbox_row_and_no_push(push_gw: Harness) -> None:
    with receiver() as other_county:
        residence = push_gw.node(RESIDENCE)
        origin = push_gw.client(push_gw.token(ORIGIN))  # pull only
        push_gw.token("430524", endpoint=other_county.url)
        pull_only, pushed = submit(
            residence, example("notification.pregnancy"), person(10, recipient="430524")
        )
        # the worker runs (it delivered the other one) ...
        assert wait_until(lambda: state(push_gw, pushed) == "delivered", 8)
        time.sleep(0.5)
        # ... and owed the pull-only node nothing
        assert delivery(push_gw, pull_only) is None
        assert attempts(push_gw, pull_only) == []
        assert other_county.ids() == {pushed}
        assert status(residence, pull_only)["delivery"] == "pending"
        assert in_inbox(origin, pull_only)


def test_a_message_acknowledged_before_its_push_is_not_pushed(push_gw: Harness) -> None:
    with receiver() as county:
        residence = push_gw.node(RESIDENCE)
        origin = push_gw.client(push_gw.token(ORIGIN, endpoint=county.url))
        with push_gw.runtime.writing() as session:  # hold pushes back until it is acked
            assert set_delivery_paused(session, ORIGIN, True) == 1
            session.commit()
        [mid] = submit(residence, example("notification.pregnancy"))
        assert state(push_gw, mid) == "pending"

        assert in_inbox(origin, mid)
        ack = origin.post(f"/api/v1/inbox/{mid}/ack")
        assert ack.status_code == 200, ack.text
        with push_gw.runtime.writing() as session:
            assert set_delivery_paused(session, ORIGIN, False) == 1
            session.commit()

        assert wait_until(lambda: state(push_gw, mid) == "cancelled", 8)
        time.sleep(1.0)
        assert county.hits == []
        assert attempts(push_gw, mid) == []
        assert status(residence, mid)["state"] == "acknowledged"
