"""Routing by division code (PROTOCOL.md §1, §2, §3 feedback `transferred`): the recipient is
derived from the household code when absent, the longest registered prefix wins, codes no node
covers wait as `unmatched`, retired codes follow their successor, and a `transferred` feedback
forwards the notification as a new obligation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from gateway.divisions.registry import load_registry
from tests.api.conftest import Harness, assert_problem, example

DUE = "2026-11-30T23:59:59.999000+08:00"  # five working days after Monday 2026-11-23


def _inbox(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/inbox", params={"limit": 1000})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def _ids(client: httpx.Client) -> list[str]:
    return [m["message_id"] for m in _inbox(client)]


def _for_household(name: str, hukou_code: str) -> dict[str, Any]:
    """An example with its recipient left out, about a person registered at ``hukou_code``."""
    doc = example(name)
    doc.pop("recipient", None)
    doc["subject"]["hukou_code"] = hukou_code
    return doc


@pytest.mark.parametrize("name", ["notification.birth", "assist_request"])
def test_recipient_is_derived_from_the_household_code_when_absent(gw: Harness, name: str) -> None:
    residence, origin = gw.node("441900"), gw.node("430582")
    doc = example(name)
    doc.pop("recipient", None)
    hukou_code = doc["subject"]["hukou_code"]
    assert hukou_code.startswith("430582") and len(hukou_code) == 12
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["recipient"], body["node"], body["unmatched_reason"]) == (
        "routed",
        hukou_code,
        "430582",
        None,
    )
    assert body["due_at"] is not None
    status = residence.get(f"/api/v1/messages/{doc['message_id']}").json()
    assert (status["recipient"], status["node"]) == (hukou_code, "430582")
    assert _ids(origin) == [doc["message_id"]]


# household code of the message → the node whose inbox gets it
LONGEST_PREFIX = [
    ("430582001201", "430582001"),  # a township node beats its county
    ("430582101210", "430582"),  # another township of the county: the county node
    ("430503001201", "430500"),  # 大祥区 has no node: the city node 邵阳市
    ("430102001201", "430000"),  # 长沙市芙蓉区: neither county nor city node, the province
    ("441900003005", "441900"),  # 东莞市: a prefecture-level city without counties
]


def test_longest_registered_prefix_wins(gw: Harness) -> None:
    sender = gw.node("441900")
    clients = {code: gw.node(code) for code in ("430000", "430500", "430582", "430582001")}
    clients["441900"] = sender
    sent: dict[str, list[str]] = {code: [] for code in clients}
    for hukou_code, node in LONGEST_PREFIX:
        doc = _for_household("notification.birth", hukou_code)
        response = sender.post("/api/v1/messages", json=doc)
        assert response.status_code == 202, response.text
        assert (response.json()["state"], response.json()["recipient"]) == ("routed", hukou_code)
        status = sender.get(f"/api/v1/messages/{doc['message_id']}").json()
        assert status["node"] == node, hukou_code
        sent[node].append(doc["message_id"])
    # explicit 6-digit recipients route the same way
    for recipient, node in (("430503", "430500"), ("430582", "430582"), ("430500", "430500")):
        doc = example("notification.pregnancy", recipient=recipient)
        response = sender.post("/api/v1/messages", json=doc)
        assert response.status_code == 202, response.text
        sent[node].append(doc["message_id"])
    assert {code: _ids(client) for code, client in clients.items()} == sent


def test_code_no_node_covers_waits_unmatched_in_nobodys_inbox(gw: Harness) -> None:
    residence, origin = gw.node("441900"), gw.node("430582")
    city = gw.node("430500")
    doc = _for_household("notification.birth", "110101001001")  # 北京市东城区: no node
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["unmatched_reason"], body["recipient"]) == (
        "unmatched",
        "no_node",
        "110101001001",
    )
    assert body["due_at"] is None  # no obligation runs before it reaches an inbox
    status = residence.get(f"/api/v1/messages/{doc['message_id']}").json()
    assert (status["state"], status["unmatched_reason"], status["node"]) == (
        "unmatched",
        "no_node",
        None,
    )
    assert status["timestamps"]["available_at"] is None
    for client in (residence, origin, city):
        assert doc["message_id"] not in _ids(client)


def test_repeat_of_an_unmatched_message_is_answered_the_same_way(gw: Harness) -> None:
    residence = gw.node("441900")
    doc = _for_household("notification.birth", "110101001001")
    first = residence.post("/api/v1/messages", json=doc).json()
    again = residence.post("/api/v1/messages", json=doc).json()
    assert again["duplicate"] is True
    assert {**again, "duplicate": False} == first


def test_retired_county_is_routed_via_its_successor(gw: Harness) -> None:
    registry = load_registry()
    assert registry.successor("430521") == "430582"  # 邵东县 became 邵东市 (2019)
    assert not registry.is_current("430521")
    residence, origin = gw.node("441900"), gw.node("430582")
    by_household = _for_household("notification.other", "430521101210")
    by_recipient = example("notification.pregnancy", recipient="430521")
    for doc, recipient in ((by_household, "430521101210"), (by_recipient, "430521")):
        response = residence.post("/api/v1/messages", json=doc)
        assert response.status_code == 202, response.text
        body = response.json()
        assert (body["state"], body["recipient"], body["due_at"]) == ("routed", recipient, DUE)
        status = residence.get(f"/api/v1/messages/{doc['message_id']}").json()
        assert status["node"] == "430582"
    assert _ids(origin) == [by_household["message_id"], by_recipient["message_id"]]


def test_retired_code_without_successor_is_unmatched(gw: Harness) -> None:
    registry = load_registry()
    # 邵阳市城北区 (430504) was abolished and split: the data names no single successor.
    assert not registry.is_current("430504")
    assert registry.is_known_id_prefix("430504")
    assert registry.successor("430504") is None
    residence, origin = gw.node("441900"), gw.node("430582")
    doc = _for_household("notification.birth", "430504001201")
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["unmatched_reason"], body["due_at"]) == (
        "unmatched",
        "retired_without_successor",
        None,
    )
    status = residence.get(f"/api/v1/messages/{doc['message_id']}").json()
    assert (status["state"], status["unmatched_reason"]) == (
        "unmatched",
        "retired_without_successor",
    )
    assert _ids(origin) == [] and _ids(residence) == []


def _transfer(gw: Harness) -> tuple[dict[str, Any], dict[str, Any], dict[str, httpx.Client]]:
    """notification.other (441900 → 430582) answered two days later by feedback.transferred
    (the person moved to 430503, which has a node)."""
    clients = {code: gw.node(code) for code in ("441900", "430582", "430503")}
    notification = example("notification.other")
    response = clients["441900"].post("/api/v1/messages", json=notification)
    assert response.status_code == 202, response.text
    assert response.json()["due_at"] == DUE
    gw.time.advance(timedelta(days=2))  # Wednesday 2026-11-25
    feedback = example("feedback.transferred", in_reply_to=notification["message_id"])
    assert feedback["body"]["transferred_to"] == "430503"
    response = clients["430582"].post("/api/v1/messages", json=feedback)
    assert response.status_code == 202, response.text
    return notification, feedback, clients


def test_transferred_feedback_closes_and_forwards_the_notification(gw: Harness) -> None:
    notification, feedback, clients = _transfer(gw)
    original = clients["441900"].get(f"/api/v1/messages/{notification['message_id']}").json()
    assert (original["state"], original["response"], original["answer_id"]) == (
        "closed",
        "answered_on_time",
        feedback["message_id"],
    )
    assert original["timestamps"]["closed_at"] is not None
    # the feedback itself goes back to the residence
    assert _ids(clients["441900"]) == [feedback["message_id"]]
    # the forward: a new obligation in 430503's inbox, under a new id
    [item] = _inbox(clients["430503"])
    forwarded_id = item["message_id"]
    assert forwarded_id not in (notification["message_id"], feedback["message_id"])
    envelope = item["envelope"]
    assert envelope["message_id"] == forwarded_id
    assert (envelope["type"], envelope["sender"], envelope["recipient"]) == (
        "notification",
        "441900",
        "430503",
    )
    assert envelope["subject"] == notification["subject"]
    assert envelope["body"] == notification["body"]
    # due five working days after it became available on Wednesday 2026-11-25
    assert item["due_at"] == "2026-12-02T23:59:59.999000+08:00"
    status = clients["430503"].get(f"/api/v1/messages/{forwarded_id}").json()
    assert status["forwarded_from"] == notification["message_id"]
    assert (status["node"], status["response"]) == ("430503", "awaiting")
    assert status["timestamps"]["due_at"] == "2026-12-02T23:59:59.999000+08:00"
    assert status["timestamps"]["due_at"] != original["timestamps"]["due_at"]
    # the residence that wrote the notification follows the forwarded copy too
    seen = clients["441900"].get(f"/api/v1/messages/{forwarded_id}")
    assert seen.status_code == 200 and seen.json()["forwarded_from"] == notification["message_id"]
    # the transferring node holds only the notification it answered (not yet acknowledged)
    assert _ids(clients["430582"]) == [notification["message_id"]]


def test_forwarding_is_deterministic_a_repeated_feedback_makes_no_second_copy(
    gw: Harness,
) -> None:
    notification, feedback, clients = _transfer(gw)
    assert gw.count_messages() == 3  # notification, feedback, forwarded copy
    forwarded = _ids(clients["430503"])
    gw.time.advance(timedelta(hours=1))
    again = clients["430582"].post("/api/v1/messages", json=feedback)
    assert again.status_code == 202, again.text
    assert again.json()["duplicate"] is True
    assert gw.count_messages() == 3
    assert _ids(clients["430503"]) == forwarded and len(forwarded) == 1
    # a second, different answer is refused: the notification is already answered
    other = example("feedback.transferred", in_reply_to=notification["message_id"])
    refused = clients["430582"].post("/api/v1/messages", json=other)
    assert refused.status_code == 409
    assert gw.count_messages() == 3


def test_forwarded_copy_names_its_origin_in_the_inbox(gw: Harness) -> None:
    notification, _feedback, clients = _transfer(gw)
    [item] = _inbox(clients["430503"])
    assert item["forwarded_from"] == notification["message_id"]


# --- supervisors are never routing targets (PROTOCOL §8.2) ------------------------------------


def test_a_supervisor_above_the_code_does_not_swallow_the_message(gw: Harness) -> None:
    """Only a supervisor exists above 510104003201: the message waits as no_node (where the
    unmatched queue shows it), it is not `routed` to a supervisor nobody can pull for."""
    residence = gw.node("441900")
    supervisor = gw.node("510000", role="supervisor")
    doc = _for_household("notification.birth", "510104003201")
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["unmatched_reason"], body["due_at"]) == (
        "unmatched",
        "no_node",
        None,
    )
    status = supervisor.get(f"/api/v1/messages/{doc['message_id']}").json()
    assert (status["state"], status["node"]) == ("unmatched", None)


def test_a_node_below_a_supervisor_at_a_longer_prefix_still_gets_the_message(gw: Harness) -> None:
    residence, province = gw.node("441900"), gw.node("430000")
    gw.node("430582", role="supervisor")  # a county-level supervisor registration
    doc = _for_household("notification.birth", "430582101210")
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "routed"
    assert _ids(province) == [doc["message_id"]]


def test_registering_a_node_routes_what_waited_for_it_at_once(gw: Harness) -> None:
    residence = gw.node("441900")
    gw.node("510000", role="supervisor")
    query = example("query", sender="441900", sender_unit="441900003", recipient="510104")
    covered = [_for_household("notification.birth", "510104003201"), query]
    elsewhere = _for_household("notification.birth", "110101001001")  # 北京: still no node
    for doc in (*covered, elsewhere):
        assert residence.post("/api/v1/messages", json=doc).status_code == 202
    gw.time.advance(timedelta(days=3))  # Thursday 2026-11-26: deadlines count from now
    county = gw.node("510104")
    assert _ids(county) == [doc["message_id"] for doc in covered]
    notification = residence.get(f"/api/v1/messages/{covered[0]['message_id']}").json()
    assert (notification["state"], notification["node"], notification["unmatched_reason"]) == (
        "delivered",  # the pull above collected it
        "510104",
        None,
    )
    assert notification["timestamps"]["available_at"].startswith("2026-11-26T10:00:00")
    # five working days after Thursday 2026-11-26
    assert notification["timestamps"]["due_at"] == "2026-12-03T23:59:59.999000+08:00"
    query = residence.get(f"/api/v1/messages/{covered[1]['message_id']}").json()
    assert query["timestamps"]["due_at"] is not None
    waiting = residence.get(f"/api/v1/messages/{elsewhere['message_id']}").json()
    assert (waiting["state"], waiting["unmatched_reason"]) == ("unmatched", "no_node")
    # a repeat of a message routed since is answered with where it is now
    again = residence.post("/api/v1/messages", json=covered[0]).json()
    assert (again["duplicate"], again["state"], again["node"], again["due_at"]) == (
        True,
        "routed",
        "510104",
        "2026-12-03T23:59:59.999000+08:00",
    )


def test_a_process_routing_on_a_stale_table_still_routes_to_a_new_node(gw: Harness) -> None:
    """The API process caches its routing table for a few seconds: a node registered by
    another process in that time must still get what is submitted meanwhile."""
    residence = gw.node("441900")
    gw.runtime.routing()  # the table as it is now, cached
    with gw.runtime.writing() as session:  # registered elsewhere: this process is not told
        from gateway.nodes.service import add_node

        add_node(
            session,
            code="510104",
            name="锦江区",
            role="node",
            endpoint=None,
            now=gw.time.now(),
            divisions=gw.runtime.registry,
        )
        session.commit()
    doc = _for_household("notification.birth", "510104003201")
    response = residence.post("/api/v1/messages", json=doc)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["unmatched_reason"]) == ("routed", None)
    assert body["due_at"] == DUE
    status = residence.get(f"/api/v1/messages/{doc['message_id']}").json()
    assert status["node"] == "510104"


# --- transfers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "430521",  # its own retired code (邵东县 → 邵东市)
        "430521101210",  # a village under its own retired code
        "430582",  # itself
        "430582101210",  # a village it serves
    ],
)
def test_a_transfer_back_to_the_declaring_node_is_refused(gw: Harness, target: str) -> None:
    residence, origin = gw.node("441900"), gw.node("430582")
    notification = example("notification.other")
    assert residence.post("/api/v1/messages", json=notification).status_code == 202
    feedback = example("feedback.transferred", in_reply_to=notification["message_id"])
    feedback["body"]["transferred_to"] = target
    response = origin.post("/api/v1/messages", json=feedback)
    assert_problem(response, 422, "body.transferred_to", "transfer_to_self")
    assert gw.count_messages() == 1
    status = residence.get(f"/api/v1/messages/{notification['message_id']}").json()
    assert status["response"] == "awaiting"


def test_a_transfer_from_a_city_node_to_a_county_it_serves_is_refused(gw: Harness) -> None:
    residence, city = gw.node("441900"), gw.node("430500")
    notification = example("notification.other", recipient="430503")  # 大祥区: served by 430500
    assert residence.post("/api/v1/messages", json=notification).status_code == 202
    feedback = example("feedback.transferred", in_reply_to=notification["message_id"])
    feedback["body"]["transferred_to"] = "430503"
    assert_problem(
        city.post("/api/v1/messages", json=feedback), 422, "body.transferred_to", "transfer_to_self"
    )


def test_the_forwarded_copy_keeps_event_date_and_submission_timeliness(gw: Harness) -> None:
    from sqlalchemy import select

    from gateway.messages.models import MessageRow

    notification, _feedback, clients = _transfer(gw)
    [item] = _inbox(clients["430503"])
    with gw.runtime.session() as session:
        rows = {
            row.message_id: row
            for row in session.execute(select(MessageRow)).scalars()
            if row.message_id in (notification["message_id"], item["message_id"])
        }
    original, forwarded = rows[notification["message_id"]], rows[item["message_id"]]
    assert original.event_date is not None and original.submitted_on_time is not None
    assert (forwarded.event_date, forwarded.submitted_on_time) == (
        original.event_date,
        original.submitted_on_time,
    )
    shown = clients["430503"].get(f"/api/v1/messages/{item['message_id']}").json()
    assert shown["submitted_on_time"] == original.submitted_on_time


def test_submissions_racing_a_node_registration_all_reach_the_new_node(gw: Harness) -> None:
    """Submissions for a code no node covers, while a node for it is registered in the middle
    of them: each message is routed by the registration or by its own write, never left
    waiting (the routing lock orders the two)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    residence = gw.token("441900")
    docs = [_for_household("notification.birth", "510104003201") for _ in range(60)]
    done = threading.Semaphore(0)

    def post(doc: dict[str, Any]) -> int:
        with httpx.Client(base_url=gw.url, timeout=15) as client:
            status = client.post(
                "/api/v1/messages", json=doc, headers={"Authorization": f"Bearer {residence}"}
            ).status_code
        done.release()
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(post, doc) for doc in docs]
        for _ in range(15):  # some are stored waiting before the node exists, more in flight
            assert done.acquire(timeout=15)
        county = gw.token("510104")
        statuses = [f.result() for f in futures]
    assert statuses == [202] * len(docs)
    inbox = httpx.get(
        f"{gw.url}/api/v1/inbox",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {county}"},
        timeout=15,
    ).json()["messages"]
    assert sorted(m["message_id"] for m in inbox) == sorted(d["message_id"] for d in docs)
