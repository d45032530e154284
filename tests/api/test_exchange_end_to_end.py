"""The whole exchange through real HTTP: notify, collect, acknowledge, feed back, check."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.api.conftest import Harness, example


def _notify(gw: Harness) -> tuple[str, httpx.Client, httpx.Client]:
    residence = gw.node("441900")
    origin = gw.node("430582")
    msg = example("notification.pregnancy")
    response = residence.post("/api/v1/messages", json=msg)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] == "routed" and body["recipient"] == "430582"
    # available Monday 2026-11-23 → five working days after: Monday 2026-11-30
    assert body["due_at"] == "2026-11-30T23:59:59.999000+08:00"
    return msg["message_id"], residence, origin


def test_notification_answered_on_time(gw: Harness) -> None:
    mid, residence, origin = _notify(gw)
    gw.time.advance(timedelta(hours=1))
    inbox = origin.get("/api/v1/inbox").json()
    assert [m["message_id"] for m in inbox["messages"]] == [mid]
    assert inbox["messages"][0]["envelope"]["body"]["category"] == "pregnancy"
    gw.time.advance(timedelta(minutes=5))
    ack = origin.post(f"/api/v1/inbox/{mid}/ack")
    assert ack.status_code == 200
    again = origin.post(f"/api/v1/inbox/{mid}/ack")
    assert again.json() == ack.json()  # idempotent: same acknowledgement time
    assert origin.get("/api/v1/inbox").json()["messages"] == []
    gw.time.advance(timedelta(days=2))
    feedback = example("feedback", in_reply_to=mid)
    answered = origin.post("/api/v1/messages", json=feedback)
    assert answered.status_code == 202, answered.text
    status = residence.get(f"/api/v1/messages/{mid}").json()
    assert status["state"] == "answered"
    assert status["response"] == "answered_on_time"
    assert status["delivery"] == "pulled"
    assert status["answer_id"] == feedback["message_id"]
    stamps = status["timestamps"]
    for key in (
        "accepted_at",
        "available_at",
        "delivered_at",
        "acknowledged_at",
        "answered_at",
        "due_at",
    ):
        assert stamps[key] is not None, key
    assert stamps["accepted_at"] <= stamps["delivered_at"] <= stamps["acknowledged_at"]
    assert stamps["answered_at"].startswith("2026-11-25T11:05")
    # The feedback is in the residence's inbox; acknowledging it closes the notification.
    inbox = residence.get("/api/v1/inbox").json()
    assert [m["message_id"] for m in inbox["messages"]] == [feedback["message_id"]]
    residence.post(f"/api/v1/inbox/{feedback['message_id']}/ack")
    closed = residence.get(f"/api/v1/messages/{mid}").json()
    assert closed["state"] == "closed" and closed["timestamps"]["closed_at"] is not None


def test_notification_answered_after_deadline_is_late(gw: Harness) -> None:
    mid, residence, origin = _notify(gw)
    gw.time.advance(timedelta(days=7, hours=14, minutes=1))  # Tuesday 2026-12-01 00:01
    answered = origin.post("/api/v1/messages", json=example("feedback", in_reply_to=mid))
    assert answered.status_code == 202
    status = residence.get(f"/api/v1/messages/{mid}").json()
    assert status["response"] == "answered_late"


def test_unanswered_notification_becomes_overdue_when_its_deadline_passes(gw: Harness) -> None:
    mid, residence, _origin = _notify(gw)
    gw.time.set(gw.time.now().replace(year=2026, month=11, day=30, hour=15, minute=59))
    assert residence.get(f"/api/v1/messages/{mid}").json()["response"] == "awaiting"
    gw.time.advance(timedelta(minutes=2))  # 2026-11-30 16:01 UTC = 12-01 00:01 Shanghai
    status = residence.get(f"/api/v1/messages/{mid}").json()
    assert status["response"] == "overdue"


def test_overdue_sweep_writes_down_what_the_clock_already_shows(gw: Harness) -> None:
    from gateway.messages.repository import mark_overdue

    mid, residence, _origin = _notify(gw)
    with gw.runtime.writing() as session:
        assert mark_overdue(session, gw.time.now()) == 0  # not due yet
        session.commit()
    gw.time.advance(timedelta(days=8))
    with gw.runtime.writing() as session:
        assert mark_overdue(session, gw.time.now()) == 1
        session.commit()
    assert residence.get(f"/api/v1/messages/{mid}").json()["response"] == "overdue"
