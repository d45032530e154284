"""The authorization matrix (PROTOCOL.md §1, §6): who may call which endpoint, send as which
code, read, acknowledge and answer which message.

The rows run against one gateway per backend stack (module scope) holding a fixed cast of
nodes, supervisors, an admin, a revoked node and a few messages; every row uses fresh message
ids or only reads, so the rows are independent of their order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.errors import InvalidInput
from gateway.nodes.service import revoke_node
from tests.api.conftest import (
    TIMEOUT,
    Harness,
    assert_problem,
    example,
    running_gateway,
)

# label → (code, role) of everyone the rows act as
CAST = {
    "residence": ("441900", "node"),  # 东莞市: a prefecture-level city without counties
    "origin": ("430582", "node"),  # 邵东市, a county
    "city": ("430500", "node"),  # 邵阳市, a city node above the county
    "stranger": ("110101", "node"),  # 北京市东城区, unrelated
    "sup_430000": ("430000", "supervisor"),  # 湖南省: the recipient's province
    "sup_430500": ("430500", "supervisor"),  # 邵阳市: the recipient's city
    "sup_440000": ("440000", "supervisor"),  # 广东省: the sender's province
    "sup_441900": ("441900", "supervisor"),  # 东莞市: the sender's city
    "sup_110000": ("110000", "supervisor"),  # 北京市: unrelated province
    "sup_430100": ("430100", "supervisor"),  # 长沙市: same province, other city
    "admin": ("110000", "admin"),
    "revoked": ("430502", "node"),  # 双清区, revoked after registration
}


@dataclass
class World:
    gw: Harness
    clients: dict[str, httpx.Client]
    messages: dict[str, str]  # key → message_id

    def as_admin(self, message_id: str) -> httpx.Response:
        return self.clients["admin"].get(f"/api/v1/messages/{message_id}")


@pytest.fixture(scope="module", params=["embedded", "services"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with running_gateway(request.param, tmp_path_factory.mktemp(f"authz-{request.param}")) as gw:
        yield _populate(gw)


def _populate(gw: Harness) -> World:
    clients = {label: gw.client(gw.token(code, role)) for label, (code, role) in CAST.items()}
    with gw.runtime.session() as session:
        revoke_node(session, CAST["revoked"][0], gw.time.now())
        session.commit()
    gw.runtime.invalidate_routing()
    for label, header in (
        ("none", None),
        ("garbage", "Bearer not-a-token-the-gateway-issued"),
        ("basic", "Basic YWRtaW46YWRtaW4="),
    ):
        client = httpx.Client(
            base_url=gw.url, timeout=TIMEOUT, headers={"Authorization": header} if header else {}
        )
        gw.clients.append(client)
        clients[label] = client

    messages: dict[str, str] = {}

    def send(key: str, who: str, doc: dict[str, Any]) -> None:
        response = clients[who].post("/api/v1/messages", json=doc)
        assert response.status_code == 202, response.text
        assert response.json()["state"] == "routed"
        messages[key] = doc["message_id"]

    send("notif_read", "residence", example("notification.pregnancy"))
    send("notif_ack", "residence", example("notification.birth"))
    send("notif_answer", "residence", example("notification.other"))
    send("notif_answer_ok", "residence", example("notification.fp_surgery"))
    send("query_sent", "origin", example("query"))
    messages["unknown"] = str(uuid.uuid4())
    return World(gw, clients, messages)


# --- every role against every endpoint -----------------------------------------------------

# Who "node" is for each endpoint: the node that legitimately uses it in the rows below.
NODE_FOR = {
    "submit": "residence",  # sends a notification as itself
    "batch": "residence",
    "status": "residence",  # the sender of notif_read
    "inbox": "origin",
    "ack": "origin",  # notif_ack is in its inbox
    "due": "stranger",  # anyone authenticated
}
WHO = ("node", "supervisor", "admin", "none", "garbage", "basic", "revoked")
# fmt: off
EXPECTED = {
    #          node  supervisor admin none garbage basic revoked
    "submit": (202,  403,       403,  401, 401,    401,  401),
    "batch":  (200,  403,       403,  401, 401,    401,  401),
    "status": (200,  200,       200,  401, 401,    401,  401),
    "inbox":  (200,  403,       403,  401, 401,    401,  401),
    "ack":    (200,  403,       403,  401, 401,    401,  401),
    "due":    (200,  200,       200,  401, 401,    401,  401),
}
# fmt: on
MATRIX = [
    pytest.param(
        endpoint,
        who,
        status,
        id=f"{endpoint}-{who}-{status}",
    )
    for endpoint, statuses in EXPECTED.items()
    for who, status in zip(WHO, statuses, strict=True)
]


def _caller(world: World, endpoint: str, who: str) -> httpx.Client:
    if who == "node":
        return world.clients[NODE_FOR[endpoint]]
    if who == "supervisor":
        return world.clients["sup_440000"]  # covers the sender: only the role can refuse it
    return world.clients[who]


def _call(
    world: World, endpoint: str, client: httpx.Client, ack_target: str
) -> tuple[httpx.Response, str | None]:
    """Make the endpoint's request; returns the response and the id submitted, if any."""
    if endpoint == "submit":
        doc = example("notification.pregnancy")
        return client.post("/api/v1/messages", json=doc), doc["message_id"]
    if endpoint == "batch":
        doc = example("notification.pregnancy")
        return client.post("/api/v1/messages/batch", json={"messages": [doc]}), doc["message_id"]
    if endpoint == "status":
        return client.get(f"/api/v1/messages/{world.messages['notif_read']}"), None
    if endpoint == "inbox":
        return client.get("/api/v1/inbox"), None
    if endpoint == "ack":
        return client.post(f"/api/v1/inbox/{world.messages[ack_target]}/ack"), None
    assert endpoint == "due"
    return client.get("/api/v1/calendar/due", params={"available_at": "2026-11-23"}), None


@pytest.mark.parametrize(("endpoint", "who", "status"), MATRIX)
def test_endpoint_by_role(world: World, endpoint: str, who: str, status: int) -> None:
    # The refused rows try to acknowledge notif_read, which no row acknowledges successfully.
    ack_target = "notif_ack" if who == "node" else "notif_read"
    response, submitted = _call(world, endpoint, _caller(world, endpoint, who), ack_target)
    if status >= 400:
        assert_problem(response, status)
        if submitted is not None:  # refused means not stored
            assert_problem(world.as_admin(submitted), 404)
        if endpoint == "ack":
            after = world.as_admin(world.messages[ack_target]).json()
            assert after["timestamps"]["acknowledged_at"] is None
        return
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if endpoint == "submit":
        assert body["message_id"] == submitted
        assert (body["state"], body["recipient"]) == ("routed", "430582")
    elif endpoint == "batch":
        assert [(r["message_id"], r["status"]) for r in body["results"]] == [(submitted, 202)]
    elif endpoint == "status":
        assert body["message_id"] == world.messages["notif_read"]
    elif endpoint == "inbox":
        assert isinstance(body["messages"], list)
    elif endpoint == "ack":
        assert body["message_id"] == world.messages["notif_ack"]
        assert body["acknowledged_at"] is not None
    else:
        assert body["due_date"] == "2026-11-30"


# --- sending: only as your own code or a code under it --------------------------------------

SENDER_ROWS = [
    # caller, example, sender, sender_unit, status
    ("residence", "notification.birth", "441900", "441900003", 202),  # its own code
    ("residence", "notification.birth", "441900003", "441900003", 202),  # a town of 东莞
    ("origin", "query", "430582001", "430582001", 202),  # a county as a township under it
    ("city", "query", "430503", "430503001", 202),  # a city as a county under it
    ("residence", "notification.birth", "430582", "430582001", 403),  # someone else's code
    ("residence", "notification.birth", "440000", None, 403),  # its own province
    ("origin", "query", "430500", None, 403),  # its own city
    ("origin", "query", "430503", None, 403),  # a sibling county
    ("origin", "query", "430000", None, 403),  # its province
    ("origin", "query", "430582", None, 202),  # control: the same message as itself
    ("city", "query", "441900", None, 403),
    ("stranger", "query", "430582", "430582001", 403),
]


@pytest.mark.parametrize(("who", "name", "sender", "sender_unit", "status"), SENDER_ROWS)
def test_sender_must_be_your_code_or_under_it(
    world: World, who: str, name: str, sender: str, sender_unit: str | None, status: int
) -> None:
    doc = example(name, sender=sender, sender_unit=sender_unit)
    response = world.clients[who].post("/api/v1/messages", json=doc)
    if status == 403:
        body = assert_problem(response, 403)
        assert [(e["field"], e["rule"]) for e in body["errors"]] == [("sender", "sender_not_yours")]
        assert_problem(world.as_admin(doc["message_id"]), 404)
        return
    assert response.status_code == 202, response.text
    stored = world.as_admin(doc["message_id"]).json()
    assert (stored["sender"], stored["state"]) == (sender, "routed")


# --- reading a message's status -------------------------------------------------------------

READ_ROWS = [
    # reader, message, status
    ("residence", "notif_read", 200),  # sender
    ("origin", "notif_read", 200),  # recipient
    ("stranger", "notif_read", 403),
    ("city", "notif_read", 403),  # 430582 has its own node: not the city node's message
    ("sup_430000", "notif_read", 200),  # province of the recipient
    ("sup_430500", "notif_read", 200),  # city of the recipient
    ("sup_440000", "notif_read", 200),  # province of the sender
    ("sup_441900", "notif_read", 200),  # city of the sender
    ("sup_110000", "notif_read", 403),  # unrelated province
    ("sup_430100", "notif_read", 403),  # same province, another city
    ("admin", "notif_read", 200),
    ("origin", "query_sent", 200),  # sender
    ("residence", "query_sent", 200),  # recipient
    ("stranger", "query_sent", 403),
    ("sup_110000", "query_sent", 403),
    ("city", "query_sent", 403),  # sent by the county node under it: not the city's message
    ("residence", "unknown", 404),
    ("sup_430000", "unknown", 404),
]


@pytest.mark.parametrize(("who", "key", "status"), READ_ROWS)
def test_reading_a_message(world: World, who: str, key: str, status: int) -> None:
    message_id = world.messages[key]
    response = world.clients[who].get(f"/api/v1/messages/{message_id}")
    if status >= 400:
        body = assert_problem(response, status)
        assert "sender" not in body and "recipient" not in body  # nothing of the message leaks
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message_id"] == message_id
    assert "envelope" not in body and "subject" not in body


# --- acknowledging: only what is in your inbox ----------------------------------------------

ACK_ROWS = [
    # caller, message: all 404 (not in the caller's inbox)
    ("residence", "notif_read"),  # its own outgoing message, in the recipient's inbox
    ("stranger", "notif_read"),
    ("city", "notif_read"),  # the county has its own node
    ("origin", "query_sent"),  # it sent the query; the answer side holds it
    ("origin", "unknown"),
]


@pytest.mark.parametrize(("who", "key"), ACK_ROWS)
def test_acknowledging_a_message_not_in_your_inbox_is_404(world: World, who: str, key: str) -> None:
    message_id = world.messages[key]
    response = world.clients[who].post(f"/api/v1/inbox/{message_id}/ack")
    assert_problem(response, 404)
    if key != "unknown":
        after = world.as_admin(message_id).json()
        assert after["timestamps"]["acknowledged_at"] is None
        assert after["state"] in ("routed", "delivered")


# --- the inbox is always the caller's own ---------------------------------------------------

# caller → world messages that must be in its inbox; every other world message must not be
INBOX_HOLDS = {
    "origin": {"notif_read", "notif_answer"},
    "residence": {"query_sent"},
    "city": set(),
    "stranger": set(),
}
INBOX_TRIES = [
    {},
    {"node": "430582"},  # unknown parameters name no other inbox
    {"recipient": "441900", "code": "430582", "node_code": "430582"},
]


@pytest.mark.parametrize("params", INBOX_TRIES, ids=["plain", "node-param", "other-params"])
@pytest.mark.parametrize("who", sorted(INBOX_HOLDS))
def test_inbox_holds_only_the_callers_messages(
    world: World, who: str, params: dict[str, str]
) -> None:
    code = CAST[who][0]
    response = world.clients[who].get("/api/v1/inbox", params={**params, "limit": 1000})
    assert response.status_code == 200, response.text
    ids = [m["message_id"] for m in response.json()["messages"]]
    for message_id in ids:
        assert world.as_admin(message_id).json()["node"] == code
    world_ids = {world.messages[k]: k for k in ("notif_read", "notif_answer", "query_sent")}
    present = {world_ids[i] for i in ids if i in world_ids}
    assert present == INBOX_HOLDS[who]


# --- answering: only messages addressed to you ----------------------------------------------

ANSWER_ROWS = [
    # caller, sender, reply example, answered message, status
    ("stranger", "110101", "feedback", "notif_answer", 403),
    ("residence", "441900", "feedback", "notif_answer", 403),  # its own notification
    ("city", "430582", "feedback", "notif_answer", 403),  # may send as 430582; not its inbox
    ("stranger", "110101", "query_reply", "query_sent", 403),
    ("origin", "430582", "query_reply", "query_sent", 403),  # the asker answering itself
    ("origin", "430582", "feedback", "notif_answer_ok", 202),  # control: the recipient
]


@pytest.mark.parametrize(("who", "sender", "name", "key", "status"), ANSWER_ROWS)
def test_answering_only_messages_addressed_to_you(
    world: World, who: str, sender: str, name: str, key: str, status: int
) -> None:
    original = world.messages[key]
    reply = example(name, sender=sender, sender_unit=None, in_reply_to=original)
    response = world.clients[who].post("/api/v1/messages", json=reply)
    after = world.as_admin(original).json()
    if status == 403:
        body = assert_problem(response, 403)
        assert [(e["field"], e["rule"]) for e in body["errors"]] == [
            ("in_reply_to", "not_addressed_to_you")
        ]
        assert_problem(world.as_admin(reply["message_id"]), 404)
        assert after["answer_id"] is None
        assert after["response"] == "awaiting"
        return
    assert response.status_code == 202, response.text
    assert after["answer_id"] == reply["message_id"]
    assert (after["state"], after["response"]) == ("answered", "answered_on_time")


def test_national_supervisor_reads_every_province(gw: Harness) -> None:
    residence = gw.node("441900")
    gw.node("430582")
    national = gw.node("000000", role="supervisor")
    msg = example("notification.pregnancy")
    assert residence.post("/api/v1/messages", json=msg).status_code == 202
    status = national.get(f"/api/v1/messages/{msg['message_id']}")
    assert status.status_code == 200
    assert national.post("/api/v1/messages", json=example("notification.birth")).status_code == 403


def test_the_nation_is_not_a_node(gw: Harness) -> None:
    with pytest.raises(InvalidInput) as refused:
        gw.token("000000", role="node")
    assert [(e.field, e.rule) for e in refused.value.errors] == [("code", "national_not_a_node")]
