"""Delivery is observable: structured log records name the message and the node (never the
person), and /metrics shows the backlog, dead messages per node and attempts."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.logs import configure_logging
from tests.api.conftest import Harness, example
from tests.delivery.conftest import status, wait_until
from tests.delivery.receivers import Behaviour, receiver


def test_attempts_are_logged_with_ids_and_without_personal_data(
    push_gw: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.delivery")
    with receiver(Behaviour(fail_first=1)) as county:
        residence = push_gw.node("441900")
        push_gw.token("430582", endpoint=county.url)
        msg = example("notification.pregnancy")
        residence.post("/api/v1/messages", json=msg)
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "delivered")
    records = [r for r in caplog.records if r.getMessage() == "delivery attempt"]
    assert [getattr(r, "result", None) for r in records] == ["retrying", "delivered"]
    assert {getattr(r, "message_id", None) for r in records} == {msg["message_id"]}
    assert {getattr(r, "node", None) for r in records} == {"430582"}
    text = caplog.text + " ".join(str(vars(r)) for r in records)
    assert msg["subject"]["id_number"] not in text and msg["subject"]["name"] not in text


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
