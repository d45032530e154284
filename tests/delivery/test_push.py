"""Push delivery against real HTTP receivers: each ends in the right state with the right
number of attempt rows, spaced within the backoff bounds."""

from __future__ import annotations

from tests.api.conftest import Harness, example
from tests.delivery.conftest import status, wait_until
from tests.delivery.receivers import receiver


def test_a_healthy_receiver_gets_the_message_once(push_gw: Harness) -> None:
    with receiver() as county:
        residence = push_gw.node("441900")
        push_gw.token("430582", endpoint=county.url)
        msg = example("notification.pregnancy")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "delivered")
        view = status(residence, msg["message_id"])
        assert view["state"] == "delivered"
        assert [a["outcome"] for a in view["attempts"]] == ["delivered"]
        assert view["attempts"][0]["status_code"] == 200
        assert len(county.seen(msg["message_id"])) == 1
