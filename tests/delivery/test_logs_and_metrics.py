"""Delivery is observable: structured log records name the message and the node (never the
person), and /metrics shows the backlog, dead messages per node and attempts."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from structlog.testing import capture_logs

from gateway.logs import configure_logging
from tests.api.conftest import Harness, example
from tests.delivery.conftest import status, wait_until
from tests.delivery.receivers import Behaviour, receiver


def test_attempts_are_logged_with_ids_and_without_personal_data(push_gw: Harness) -> None:
    with (
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
        receiver(Behaviour(fail_first=1)) as county,
    ):
        residence = push_gw.node("441900")
        push_gw.token("430582", endpoint=county.url)
        msg = example("notification.pregnancy")
        residence.post("/api/v1/messages", json=msg)
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "delivered")
    records = [r for r in logs if r["event"] == "delivery attempt"]
    assert [r["result"] for r in records] == ["retrying", "delivered"]
    # the ids come from the context the worker bound for the attempt
    assert {r["message_id"] for r in records} == {msg["message_id"]}
    assert {r["node"] for r in records} == {"430582"}
    text = json.dumps(logs, ensure_ascii=False, default=str)
    assert msg["subject"]["id_number"] not in text and msg["subject"]["name"] not in text


def test_a_request_binds_its_id_and_node_for_every_line(push_gw: Harness) -> None:
    supervisor = push_gw.node("440000", role="supervisor")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = supervisor.post(
            "/api/v1/messages",
            json=example("notification.pregnancy"),
            headers={"X-Request-Id": "county-req-42"},
        )
        structlog.stdlib.get_logger("gateway.test").info("after the request")
    assert response.status_code == 403
    assert response.headers["x-request-id"] == "county-req-42"
    [refused] = [r for r in logs if r["event"] == "refused: role may not do this"]
    assert (refused["request_id"], refused["node"]) == ("county-req-42", "440000")
    assert logs[-1].get("request_id") is None  # nothing leaks past the request
    other = supervisor.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert other.headers["x-request-id"] != "bad id with spaces"
    assert len(other.headers["x-request-id"]) == 32  # ours instead


def test_json_log_line_carries_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    try:
        logging.getLogger("gateway.delivery").info(
            "delivery attempt", extra={"message_id": "m-1", "node": "430582", "status": 503}
        )
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["event"] == "delivery attempt"
        assert (record["message_id"], record["node"], record["status"]) == ("m-1", "430582", 503)
        assert record["level"] == "info" and "timestamp" in record
    finally:
        logging.getLogger().handlers.clear()


def test_metrics_show_backlog_dead_and_attempts(push_gw: Harness) -> None:
    with receiver(Behaviour(status=400)) as county:
        residence = push_gw.node("441900")
        push_gw.token("430582", endpoint=county.url)
        msg = example("notification.pregnancy")
        residence.post("/api/v1/messages", json=msg)
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "dead")
    text = residence.get("/metrics").text
    assert 'gateway_delivery_dead{node="430582"} 1.0' in text
    assert 'gateway_delivery_open{state="pending"} 0.0' in text
    assert 'gateway_delivery_attempts_total{outcome="dead"}' in text
    assert "gateway_delivery_latency_seconds_bucket" in text
    assert 'gateway_queue_depth{place="ready"}' in text
