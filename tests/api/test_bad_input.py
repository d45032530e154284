"""Bad input: every rejection has the right status, names the field and the rule, is RFC 9457
problem+json, never repeats personal data, and leaves what is already stored exactly as it was.

Each test first stores one valid notification (441900 → 430582) and snapshots every stored
row, the sender's view of its status and the recipient's inbox; after the bad request the
snapshot must be identical. The tests share one gateway per backend stack (module scope).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from gateway.messages.models import MessageRow
from tests.api.conftest import Harness, assert_problem, example, running_gateway

MIB = 1 << 20


class _Drop:
    """A value meaning "remove this field" (its repr is stable: test ids must be the same
    in every pytest-xdist worker)."""

    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


@dataclass
class Stored:
    gw: Harness
    residence: httpx.Client  # 441900
    origin: httpx.Client  # 430582
    first: dict[str, Any]  # the valid notification stored before the bad request

    @property
    def first_id(self) -> str:
        return str(self.first["message_id"])

    def snapshot(self) -> tuple[Any, ...]:
        inbox = self.origin.get("/api/v1/inbox", params={"limit": 1000})
        assert inbox.status_code == 200
        status = self.residence.get(f"/api/v1/messages/{self.first_id}")
        assert status.status_code == 200
        with self.gw.runtime.session() as session:
            rows = [
                {c.name: getattr(row, c.name) for c in MessageRow.__table__.columns}
                for row in session.execute(
                    select(MessageRow).order_by(MessageRow.__table__.c.seq)
                ).scalars()
            ]
        return self.gw.count_messages(), rows, inbox.json(), status.json()


@dataclass
class Cast:
    gw: Harness
    clients: dict[str, httpx.Client]  # code → node client


@pytest.fixture(scope="module", params=["embedded", "services"])
def cast(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cast]:
    """One gateway per stack for the module, with the nodes the rows act as."""
    tmp = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    with running_gateway(request.param, tmp) as gw:
        yield Cast(gw, {code: gw.node(code) for code in ("441900", "430582", "110101")})


@pytest.fixture
def stored(cast: Cast) -> Stored:
    """A fresh valid notification, stored before the test's bad request."""
    residence, origin = cast.clients["441900"], cast.clients["430582"]
    first = example("notification.pregnancy")
    response = residence.post("/api/v1/messages", json=first)
    assert response.status_code == 202, response.text
    return Stored(cast.gw, residence, origin, first)


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with the dotted ``path`` set to ``value`` (or removed: DROP)."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return out


# --- one message that breaks the standard ---------------------------------------------------

BAD_FIELDS = [
    # path to change, new value, field reported, rule
    ("body.details.birth_order", "2", "body.details.birth_order", "int_type"),
    ("body.details.birth_order", 2.5, "body.details.birth_order", "int_type"),
    ("nickname", "x", "nickname", "extra_forbidden"),
    ("subject.nickname", "x", "subject.nickname", "extra_forbidden"),
    ("body.details.colour", "red", "body.details.colour", "extra_forbidden"),
    ("subject.id_number", "430582199306110047", "subject.id_number", "id_checksum"),
    ("recipient", "439999", "recipient", "division_unknown"),
    ("subject.hukou_code", "439999001201", "subject.hukou_code", "division_unknown"),
    ("subject.hukou_code", "430582001", "subject.hukou_code", "division_level"),
    ("sender", "44190", "sender", "division_format"),
    ("type", "notice", "type", "union_tag_invalid"),
    ("body.category", "gossip", "body.category", "union_tag_invalid"),
    ("message_id", "not-a-uuid", "message_id", "uuid_parsing"),
    ("subject.name", DROP, "subject.name", "missing"),
    ("created_at", "2026-11-20T09:30:00", "created_at", "timezone_aware"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "rule"), BAD_FIELDS, ids=[f"{r[2]}={r[1]!r}" for r in BAD_FIELDS]
)
def test_message_breaking_the_standard_is_422_naming_the_field(
    stored: Stored, path: str, value: Any, field: str, rule: str
) -> None:
    before = stored.snapshot()
    doc = mutate(example("notification.birth"), path, value)
    response = stored.residence.post("/api/v1/messages", json=doc)
    assert_problem(response, 422, field, rule)
    assert stored.snapshot() == before


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        (b'{"message_id": ', "$", "json_invalid"),
        (b"not json at all", "$", "json_invalid"),
        (b"", "$", "json_invalid"),
        (b"[]", "$", "dict_type"),
        (b"{}", "type", "union_tag_not_found"),
    ],
    ids=["truncated", "text", "empty", "array", "empty-object"],
)
def test_body_that_is_not_a_message_object_is_422(
    stored: Stored, raw: bytes, field: str, rule: str
) -> None:
    before = stored.snapshot()
    response = stored.residence.post(
        "/api/v1/messages", content=raw, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, field, rule)
    assert stored.snapshot() == before


# --- replies that answer the wrong thing ----------------------------------------------------

REPLY_ROWS = [
    # who (code), reply example, changes (FIRST = the stored notification), status, field, rule
    ("110101", "feedback", {"sender": "110101"}, 403, "in_reply_to", "not_addressed_to_you"),
    ("441900", "feedback", {"sender": "441900"}, 403, "in_reply_to", "not_addressed_to_you"),
    ("430582", "feedback", {"in_reply_to": "UNKNOWN"}, 422, "in_reply_to", "unknown_message"),
    (
        "430582",
        "query_reply",
        {"sender": "430582", "recipient": "441900"},
        422,
        "in_reply_to",
        "reply_type_mismatch",
    ),
    (
        "430582",
        "assist_reply",
        {"sender": "430582", "recipient": "441900"},
        422,
        "in_reply_to",
        "reply_type_mismatch",
    ),
    ("430582", "feedback", {"recipient": "430500"}, 422, "recipient", "recipient_mismatch"),
    ("430582", "feedback", {"in_reply_to": "SELF"}, 422, "in_reply_to", "reply_to_self"),
]


@pytest.mark.parametrize(
    ("code", "name", "changes", "status", "field", "rule"),
    REPLY_ROWS,
    ids=[f"{r[0]}-{r[1]}-{r[5]}" for r in REPLY_ROWS],
)
def test_reply_to_the_wrong_message_is_refused(
    cast: Cast,
    stored: Stored,
    code: str,
    name: str,
    changes: dict[str, str],
    status: int,
    field: str,
    rule: str,
) -> None:
    client = cast.clients[code]
    before = stored.snapshot()
    reply = example(name, sender_unit=None, **{"in_reply_to": stored.first_id, **changes})
    if reply["in_reply_to"] == "UNKNOWN":
        reply["in_reply_to"] = str(uuid.uuid4())
    elif reply["in_reply_to"] == "SELF":
        reply["in_reply_to"] = reply["message_id"]
    response = client.post("/api/v1/messages", json=reply)
    assert_problem(response, status, field, rule)
    assert stored.snapshot() == before


def test_second_answer_to_the_same_notification_is_409(stored: Stored) -> None:
    answer = example("feedback", in_reply_to=stored.first_id)
    assert stored.origin.post("/api/v1/messages", json=answer).status_code == 202
    before = stored.snapshot()
    again = example("feedback.corrected", in_reply_to=stored.first_id)
    response = stored.origin.post("/api/v1/messages", json=again)
    body = assert_problem(response, 409, "in_reply_to", "already_answered")
    assert body["message_id"] == stored.first_id
    assert stored.snapshot() == before
    status = stored.residence.get(f"/api/v1/messages/{stored.first_id}").json()
    assert status["answer_id"] == answer["message_id"]


# --- idempotency ----------------------------------------------------------------------------


def test_same_message_id_with_other_content_is_409_and_changes_nothing(stored: Stored) -> None:
    before = stored.snapshot()
    other = mutate(stored.first, "body.remarks", "另一份内容")
    response = stored.residence.post("/api/v1/messages", json=other)
    body = assert_problem(response, 409, "message_id", "idempotency_conflict")
    assert [e["field"] for e in body["errors"]] == ["message_id"]
    assert stored.snapshot() == before
    inbox = stored.origin.get("/api/v1/inbox", params={"limit": 1000}).json()["messages"]
    [held] = [m["envelope"] for m in inbox if m["message_id"] == stored.first_id]
    assert held["body"] == stored.first["body"]


def test_same_message_id_with_same_content_is_answered_again_as_duplicate(
    stored: Stored,
) -> None:
    before = stored.snapshot()
    first_answer = stored.snapshot()[3]
    # the same content, written differently: other key order and whitespace
    reordered = dict(reversed(list(stored.first.items())))
    raw = orjson.dumps(reordered, option=orjson.OPT_INDENT_2)
    for content in (orjson.dumps(stored.first), raw):
        response = stored.residence.post(
            "/api/v1/messages", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["duplicate"] is True
        assert body["message_id"] == stored.first_id
        assert (body["state"], body["recipient"]) == ("routed", "430582")
        assert body["due_at"] == first_answer["timestamps"]["due_at"]
    assert stored.snapshot() == before


# --- size limits ----------------------------------------------------------------------------


def _padded(doc: dict[str, Any], size: int) -> bytes:
    """A valid message padded with JSON whitespace to ``size`` bytes."""
    raw = orjson.dumps(doc)
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_padding_alone_is_not_refused(stored: Stored) -> None:
    """Control for the size tests: a padded message just under the limit is accepted."""
    response = stored.residence.post(
        "/api/v1/messages",
        content=_padded(example("notification.birth"), MIB),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_413(stored: Stored, chunked: bool) -> None:
    settings = stored.gw.runtime.settings
    assert settings.max_body_bytes == MIB
    before = stored.snapshot()
    doc = example("notification.birth")
    data = _padded(doc, MIB + 1)
    headers = {"content-type": "application/json"}
    if chunked:
        request = stored.residence.build_request(
            "POST", "/api/v1/messages", content=_chunks(data), headers=headers
        )
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = stored.residence.send(request)
    else:
        response = stored.residence.post("/api/v1/messages", content=data, headers=headers)
    assert_problem(response, 413, "$", "body_too_large")
    assert stored.snapshot() == before
    assert stored.residence.get(f"/api/v1/messages/{doc['message_id']}").status_code == 404


def test_batch_over_1000_items_is_413(stored: Stored) -> None:
    assert stored.gw.runtime.settings.max_batch_items == 1000
    before = stored.snapshot()
    items = [example("notification.birth") for _ in range(1001)]
    response = stored.residence.post("/api/v1/messages/batch", json={"messages": items})
    assert_problem(response, 413, "messages", "batch_too_large")
    assert stored.snapshot() == before


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        (b"[]", "messages", "list_type"),
        (b'{"items": []}', "messages", "list_type"),
        (b'{"messages": {}}', "messages", "list_type"),
        (b'{"messages": null}', "messages", "list_type"),
        (b'{"messages": "all of them"}', "messages", "list_type"),
        (b'"messages"', "messages", "list_type"),
        (b'{"messages": [', "$", "json_invalid"),
    ],
    ids=["array", "other-key", "object", "null", "string", "bare-string", "malformed"],
)
def test_batch_that_is_not_a_messages_list_is_422(
    stored: Stored, raw: bytes, field: str, rule: str
) -> None:
    before = stored.snapshot()
    response = stored.residence.post(
        "/api/v1/messages/batch", content=raw, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, field, rule)
    assert stored.snapshot() == before


# --- personal data never comes back in an error ---------------------------------------------

ID_NUMBER = "430582199306110046"  # the synthetic subject of the notification examples
NAME = "李试英"
LEAK_ROWS = [
    # path, value: each makes the message invalid while it carries the ID number and name
    ("subject.id_number", "430582199306110047"),  # checksum
    ("subject.id_number", "43058219930611004"),  # length
    ("subject.id_number", "430582199313110046"),  # impossible birth date
    ("subject.sex", "male"),  # disagrees with the ID number
    ("subject.birth_date", "1993-06-12"),  # disagrees with the ID number
    ("subject.name", NAME + "1"),  # digits in a name
    ("subject.name", NAME * 20),  # too long
    ("subject.hukou_code", ID_NUMBER[:12]),  # an ID number fragment where a code belongs
    ("recipient", ID_NUMBER),
    ("message_id", ID_NUMBER),
    ("subject.nickname", NAME),
]


LEAK_CASES = [
    pytest.param(endpoint, path, value, id=f"{endpoint}-{path}={value}")
    for endpoint in ("single", "batch")
    for path, value in LEAK_ROWS
]


@pytest.mark.parametrize(("endpoint", "path", "value"), LEAK_CASES)
def test_error_texts_never_repeat_the_id_number_or_name(
    stored: Stored, endpoint: str, path: str, value: str
) -> None:
    doc = mutate(example("notification.birth"), path, value)
    secrets = {ID_NUMBER, NAME, doc["subject"]["id_number"], doc["subject"]["name"]}
    if path not in ("subject.sex", "subject.birth_date"):  # those values identify no one
        secrets.add(value)
    if endpoint == "single":
        response = stored.residence.post("/api/v1/messages", json=doc)
        assert_problem(response, 422)
    else:
        response = stored.residence.post("/api/v1/messages/batch", json={"messages": [doc]})
        assert response.status_code == 200
        [item] = response.json()["results"]
        assert item["status"] == 422
    text = response.content.decode()
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []


# --- query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"after": "-1"}, "after", "greater_than_equal"),
        ({"after": "abc"}, "after", "int_parsing"),
        ({"limit": "0"}, "limit", "greater_than_equal"),
        ({"limit": "1001"}, "limit", "less_than_equal"),
        ({"after": str(2**63)}, "after", "less_than_equal"),
        ({"after": "1" + "0" * 40}, "after", "less_than_equal"),
        ({"after": ["1", "2"]}, "after", "parameter_repeated"),
        ({"limit": ["5", "5"]}, "limit", "parameter_repeated"),
    ],
    ids=[
        "after-negative",
        "after-text",
        "limit-zero",
        "limit-over-max",
        "after-over-int64",
        "after-huge",
        "after-repeated",
        "limit-repeated",
    ],
)
def test_bad_inbox_parameters_are_422_naming_the_parameter(
    stored: Stored, params: dict[str, str], field: str, rule: str
) -> None:
    before = stored.snapshot()
    response = stored.origin.get("/api/v1/inbox", params=params)
    body = assert_problem(response, 422, field, rule)
    assert [e["field"] for e in body["errors"]] == [field]
    assert stored.snapshot() == before
