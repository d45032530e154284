"""POST /api/v1/messages/batch (PROTOCOL.md §6): per-item results in order, valid items stored
and routed, invalid ones not; duplicates inside one batch; a full batch of 1,000."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Harness, example

DUE = "2026-11-30T23:59:59.999000+08:00"  # five working days after Monday 2026-11-23


def _nodes(gw: Harness) -> tuple[httpx.Client, httpx.Client]:
    return gw.node("441900"), gw.node("430582")


def _inbox_ids(client: httpx.Client) -> list[str]:
    response = client.get("/api/v1/inbox", params={"limit": 1000})
    assert response.status_code == 200
    return [m["message_id"] for m in response.json()["messages"]]


def _post_batch(client: httpx.Client, items: list[Any]) -> dict[str, Any]:
    response = client.post("/api/v1/messages/batch", json={"messages": items})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert [r["index"] for r in body["results"]] == list(range(len(items)))
    return body


def _errors(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The item's problem, checked for shape; its (field, rule) pairs."""
    problem = result["problem"]
    assert problem["status"] == result["status"]
    assert problem["type"] and problem["title"]
    return [(e["field"], e["rule"]) for e in problem["errors"]]


def test_mixed_batch_gives_per_item_results_in_order(gw: Harness) -> None:
    residence, origin = _nodes(gw)
    stored = example("notification.pregnancy")
    assert residence.post("/api/v1/messages", json=stored).status_code == 202

    valid_a = example("notification.birth")
    bad_checksum = example("notification.birth")
    bad_checksum["subject"]["id_number"] = "430582199306110047"
    valid_b = example("notification.fp_surgery")
    del valid_b["recipient"]  # derived from subject.hukou_code
    foreign_sender = example("notification.other", sender="430582", sender_unit="430582001")
    conflicting = {**stored, "body": {**stored["body"], "remarks": "改过的内容"}}
    repeated = dict(stored)
    own_feedback = example(
        "feedback", sender="441900", sender_unit=None, in_reply_to=stored["message_id"]
    )
    query = example("query", sender="441900", sender_unit=None, recipient="430582")
    unknown_field = example("notification.birth")
    unknown_field["body"]["details"]["colour"] = "red"
    items: list[Any] = [
        valid_a,
        bad_checksum,
        valid_b,
        foreign_sender,
        conflicting,
        repeated,
        own_feedback,
        42,
        query,
        unknown_field,
    ]
    body = _post_batch(residence, items)
    results = body["results"]
    assert [r["status"] for r in results] == [202, 422, 202, 403, 409, 202, 403, 422, 202, 422]
    assert (body["accepted"], body["rejected"]) == (4, 6)
    assert [r["message_id"] for r in results] == [
        item["message_id"] if isinstance(item, dict) else None for item in items
    ]
    # accepted items carry what a single submission answers
    assert (results[0]["state"], results[0]["recipient"], results[0]["due_at"]) == (
        "routed",
        "430582",
        DUE,
    )
    assert (results[2]["state"], results[2]["recipient"]) == ("routed", "430582001201")
    assert (results[5]["duplicate"], results[0]["duplicate"]) == (True, False)
    assert results[8]["state"] == "routed"
    # rejected items: a problem whose fields are prefixed with the item's position
    expected = {
        1: ("messages.1.subject.id_number", "id_checksum"),
        3: ("messages.3.sender", "sender_not_yours"),
        4: ("messages.4.message_id", "idempotency_conflict"),
        6: ("messages.6.in_reply_to", "not_addressed_to_you"),
        7: ("messages.7", "dict_type"),
        9: ("messages.9.body.details.colour", "extra_forbidden"),
    }
    for index, pair in expected.items():
        errors = _errors(results[index])
        assert pair in errors, (index, errors)
        assert all(
            f == f"messages.{index}" or f.startswith(f"messages.{index}.") for f, _ in errors
        ), errors
        assert "accepted" not in results[index] and "state" not in results[index]
    # valid items are stored and routed, in batch order, after what was already there
    assert _inbox_ids(origin) == [
        stored["message_id"],
        valid_a["message_id"],
        valid_b["message_id"],
        query["message_id"],
    ]
    for item in (valid_a, valid_b, query):
        status = residence.get(f"/api/v1/messages/{item['message_id']}").json()
        assert (status["node"], status["response"]) == ("430582", "awaiting")
    # invalid ones are not; the message whose id was reused is unchanged
    for item in (bad_checksum, foreign_sender, own_feedback, unknown_field):
        assert residence.get(f"/api/v1/messages/{item['message_id']}").status_code == 404
    assert gw.count_messages() == 4
    inbox = origin.get("/api/v1/inbox").json()["messages"]
    assert inbox[0]["envelope"]["body"] == stored["body"]
    assert residence.get(f"/api/v1/messages/{stored['message_id']}").json()["answer_id"] is None


@pytest.mark.parametrize(
    ("same_content", "second_status"), [(True, 202), (False, 409)], ids=["same", "different"]
)
def test_duplicate_id_inside_one_batch(gw: Harness, same_content: bool, second_status: int) -> None:
    residence, origin = _nodes(gw)
    first = example("notification.birth")
    second = dict(first) if same_content else {**first, "body": {**first["body"], "remarks": "x"}}
    results = _post_batch(residence, [first, second])["results"]
    assert [r["status"] for r in results] == [202, second_status]
    assert results[0]["duplicate"] is False
    if same_content:
        assert results[1]["duplicate"] is True
        assert results[1]["due_at"] == results[0]["due_at"] == DUE
        assert results[1]["state"] == results[0]["state"] == "routed"
    else:
        assert _errors(results[1]) == [("messages.1.message_id", "idempotency_conflict")]
    assert gw.count_messages() == 1
    inbox = origin.get("/api/v1/inbox").json()["messages"]
    assert [m["message_id"] for m in inbox] == [first["message_id"]]
    assert inbox[0]["envelope"]["body"] == first["body"]  # the first content is what counts


def test_two_answers_to_one_notification_in_one_batch(gw: Harness) -> None:
    residence, origin = _nodes(gw)
    notification = example("notification.pregnancy")
    assert residence.post("/api/v1/messages", json=notification).status_code == 202
    first = example("feedback", in_reply_to=notification["message_id"])
    second = example("feedback.corrected", in_reply_to=notification["message_id"])
    results = _post_batch(origin, [first, first, second])["results"]
    assert [r["status"] for r in results] == [202, 202, 409]
    assert results[1]["duplicate"] is True
    assert _errors(results[2]) == [("messages.2.in_reply_to", "already_answered")]
    status = residence.get(f"/api/v1/messages/{notification['message_id']}").json()
    assert (status["state"], status["answer_id"]) == ("answered", first["message_id"])
    assert _inbox_ids(residence) == [first["message_id"]]
    assert gw.count_messages() == 2


def test_batch_of_1000_valid_messages_is_accepted_in_one_request(gw: Harness) -> None:
    residence, origin = _nodes(gw)
    names = [
        "notification.birth",
        "notification.pregnancy",
        "notification.fp_surgery",
        "notification.pregnancy_check",
    ]
    items = [example(names[i % len(names)]) for i in range(1000)]
    body = _post_batch(residence, items)
    assert (body["accepted"], body["rejected"]) == (1000, 0)
    results = body["results"]
    assert [r["message_id"] for r in results] == [i["message_id"] for i in items]
    assert {(r["status"], r["state"], r["duplicate"], r["due_at"]) for r in results} == {
        (202, "routed", False, DUE)
    }
    assert gw.count_messages() == 1000
    assert _inbox_ids(origin) == [i["message_id"] for i in items]
