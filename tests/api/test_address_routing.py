"""A request with no division code at all is routed by its household address when the
address names a county clearly, and otherwise waits in the unmatched queue with a reason."""

from __future__ import annotations

import pytest

from tests.api.conftest import Harness, example


def _query_without_codes(address: str) -> dict[str, object]:
    msg = example("query", sender="441900", sender_unit="441900003")
    msg.pop("recipient")
    subject = msg["subject"]
    subject.pop("hukou_code")
    subject["hukou_address"] = address
    return msg


@pytest.mark.parametrize(
    ("address", "state", "recipient", "reason"),
    [
        ("湖南省邵阳市邵东市两市塘街道示例村", "routed", "430582001", None),
        ("湖南邵东某某村", "routed", "430582", None),
        ("某某镇某某村", "unmatched", None, "address_unparsed"),
        ("朝阳区某某街道", "unmatched", None, "address_unparsed"),  # Beijing or Changchun?
    ],
)
def test_address_decides_or_the_message_waits(
    gw: Harness, address: str, state: str, recipient: str | None, reason: str | None
) -> None:
    residence = gw.node("441900")
    origin = gw.node("430582")
    msg = _query_without_codes(address)
    accepted = residence.post("/api/v1/messages", json=msg)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["state"], body["recipient"], body["unmatched_reason"]) == (
        state,
        recipient,
        reason,
    )
    inbox_ids = [m["message_id"] for m in origin.get("/api/v1/inbox").json()["messages"]]
    assert (msg["message_id"] in inbox_ids) == (state == "routed")
    status = residence.get(f"/api/v1/messages/{msg['message_id']}").json()
    assert status["unmatched_reason"] == reason
    assert (status["unmatched_reason_label"] is None) == (reason is None)
    assert (status["timestamps"]["due_at"] is None) == (state == "unmatched")


def test_request_with_neither_code_nor_address_is_refused(gw: Harness) -> None:
    residence = gw.node("441900")
    msg = _query_without_codes("x")
    msg["subject"].pop("hukou_address")  # type: ignore[attr-defined]
    refused = residence.post("/api/v1/messages", json=msg)
    assert refused.status_code == 422
    assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [
        ("recipient", "recipient_underivable")
    ]
    assert gw.count_messages() == 0
