"""The push receiver: Standard Webhooks signature, validation, store once, honest status."""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from adapters.client.store import ClientStore
from adapters.receiver import MAX_BODY, create_receiver_app
from tests.adapters.client.conftest import serving
from tests.api.conftest import example

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed(
    body: str,
    message_id: str,
    *,
    secret: str = SECRET,
    when: datetime | None = None,
) -> dict[str, str]:
    moment = when or datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "Gateway-Message-Id": message_id,
        "Gateway-Delivery-Id": f"{message_id}/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body),
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClientStore]:
    with ClientStore(tmp_path / "county.db") as s:
        yield s


@pytest.fixture
def port(store: ClientStore) -> Iterator[int]:
    with serving(create_receiver_app(store, SECRET)) as p:
        yield p


@pytest.fixture
def client(port: int) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        yield c


def _push(client: httpx.Client, doc: dict[str, Any], **kw: Any) -> Any:
    body = json.dumps(doc, ensure_ascii=False)
    return client.post(
        "/push", content=body.encode(), headers=signed(body, doc["message_id"], **kw)
    )


def test_a_signed_message_is_stored_once(client: httpx.Client, store: ClientStore) -> None:
    doc = example("notification.birth")
    first = _push(client, doc)
    assert first.status_code == 200 and first.json() == {"stored": True}
    again = _push(client, doc)  # the gateway may deliver twice
    assert again.status_code == 200 and again.json() == {"stored": False}
    assert store.count() == 1
    stored = store.get(doc["message_id"])
    assert stored is not None and stored.received_via == "push"
    assert stored.envelope == doc and stored.recipient == "430582"


def test_a_request_without_recipient_is_stored_under_its_hukou_code(
    client: httpx.Client, store: ClientStore
) -> None:
    doc = example("assist_request")
    assert "recipient" not in doc
    assert _push(client, doc).json() == {"stored": True}
    stored = store.get(doc["message_id"])
    assert stored is not None and stored.recipient == "430582001012"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_missing_wrong_stale_or_malformed_signatures_are_401(
    client: httpx.Client, store: ClientStore
) -> None:
    doc = example("notification.birth")
    body = json.dumps(doc)
    good = signed(body, doc["message_id"])
    bare = {"Content-Type": "application/json"}
    other = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    cases = {
        "absent": bare,
        "wrong secret": signed(body, doc["message_id"], secret=other),
        "stale": signed(body, doc["message_id"], when=datetime.now(UTC) - timedelta(minutes=6)),
        "malformed": {**good, "webhook-signature": "garbage"},
        "bad base64": {**good, "webhook-signature": "v1,%%%"},
        "bad timestamp": {**good, "webhook-timestamp": "yesterday"},
        "other id": {**good, "webhook-id": "someone-else"},
    }
    for case, headers in cases.items():
        response = client.post("/", content=body.encode(), headers=headers)
        assert _problem(response, 401)["status"] == 401, case
    assert store.count() == 0


def test_a_tampered_body_is_401(client: httpx.Client, store: ClientStore) -> None:
    doc = example("notification.birth")
    body = json.dumps(doc)
    headers = signed(body, doc["message_id"])
    tampered = body.replace('"birth_order": 2', '"birth_order": 3')
    assert tampered != body
    _problem(client.post("/", content=tampered.encode(), headers=headers), 401)
    assert store.count() == 0


def test_an_invalid_envelope_is_422_without_personal_data(
    client: httpx.Client, store: ClientStore
) -> None:
    doc = example("notification.birth")
    doc["subject"]["id_number"] = doc["subject"]["id_number"][:-1] + "X"  # bad check digit
    problem = _problem(_push(client, doc), 422)
    assert {e["field"] for e in problem["errors"]} >= {"subject.id_number"}
    text = json.dumps(problem, ensure_ascii=False)
    assert doc["subject"]["id_number"] not in text and doc["subject"]["name"] not in text
    not_json = "{not json"
    response = client.post("/", content=not_json, headers=signed(not_json, doc["message_id"]))
    _problem(response, 422)
    assert store.count() == 0


def test_a_body_whose_id_differs_from_the_signed_id_is_422(
    client: httpx.Client, store: ClientStore
) -> None:
    doc = example("notification.birth")
    body = json.dumps(doc)
    other_id = example("notification.birth")["message_id"]
    response = client.post("/", content=body.encode(), headers=signed(body, other_id))
    problem = _problem(response, 422)
    assert problem["errors"][0]["rule"] == "message_id_mismatch"
    assert store.count() == 0


def test_a_store_failure_is_503_so_the_gateway_retries(
    client: httpx.Client, store: ClientStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = example("notification.birth")

    def broken(**_kw: Any) -> bool:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "save", broken)
    response = _push(client, doc)
    _problem(response, 503)
    assert response.headers["Retry-After"]
    monkeypatch.undo()
    assert store.count() == 0
    assert _push(client, doc).json() == {"stored": True}  # the gateway's retry then lands


def test_a_malformed_secret_fails_at_start(store: ClientStore) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        create_receiver_app(store, SECRET, tolerance_s=3600)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the library raises binascii.Error
        create_receiver_app(store, "whsec_@@@")


# --- nothing is read before it has to be -----------------------------------------------------

HUGE = 300 * 1024 * 1024  # what an attacker declares; never sent


def _raw(port: int, *parts: bytes, timeout: float = 3.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``parts`` on a raw connection and read one response without sending anything more.
    A receiver that waits for the rest of the body times out here instead of answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for part in parts:
            sock.sendall(part)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)  # socket.timeout: the receiver is still waiting for us
            assert chunk, "connection closed without an answer"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        try:  # refused before the body was read: the receiver hangs up rather than drain it
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        headers["x-closed-by-receiver"] = str(closed)
        return int(lines[0].split()[1]), headers, rest


def _head(headers: dict[str, str], *, length: int | None = None) -> bytes:
    framing = {"Content-Length": str(length)} if length is not None else {}
    framing = framing or {"Transfer-Encoding": "chunked"}
    lines = ["POST /push HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in {**headers, **framing}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _refused(
    answer: tuple[int, dict[str, str], bytes], status: int, case: str = ""
) -> dict[str, Any]:
    code, headers, body = answer
    assert code == status, (case, body)
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["x-closed-by-receiver"] == "True"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    return problem


def test_an_unsigned_huge_body_is_refused_before_a_byte_of_it_is_read(
    port: int, store: ClientStore
) -> None:
    doc = example("notification.birth")
    good = signed(json.dumps(doc), doc["message_id"])
    stale = signed("{}", doc["message_id"], when=datetime.now(UTC) - timedelta(minutes=6))
    cases = {
        "unsigned": {"Content-Type": "application/json"},
        "stale": stale,
        "malformed signature": {**good, "webhook-signature": "v1,%%%"},
        "no id": {k: v for k, v in good.items() if k != "webhook-id"},
    }
    for case, headers in cases.items():
        for length in (HUGE, None):  # declared, or chunked without a length
            # Only the headers are sent: the answer must not wait for the body.
            _refused(_raw(port, _head(headers, length=length)), 401, case)
    assert store.count() == 0


def test_a_signed_body_over_the_cap_is_413_before_it_is_read(port: int, store: ClientStore) -> None:
    doc = example("notification.birth")
    doc["body"]["remarks"] = "x" * MAX_BODY  # a signed body just over the gateway's limit
    body = json.dumps(doc)
    assert len(body.encode()) > MAX_BODY
    headers = signed(body, doc["message_id"])
    problem = _refused(_raw(port, _head(headers, length=len(body.encode()))), 413)
    assert problem["max_body_bytes"] == MAX_BODY
    assert store.count() == 0


def test_a_chunked_body_is_413_as_soon_as_it_passes_the_cap(port: int, store: ClientStore) -> None:
    doc = example("notification.birth")
    headers = signed(json.dumps(doc), doc["message_id"])
    piece = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MAX_BODY // len(piece))  # exactly the cap
    one_more = b"1\r\nx\r\n"  # … and one byte over; the terminating chunk is never sent
    _refused(_raw(port, _head(headers), *chunks, one_more), 413)
    assert store.count() == 0


def test_a_chunked_push_within_the_cap_is_stored(client: httpx.Client, store: ClientStore) -> None:
    doc = example("notification.birth")
    body = json.dumps(doc).encode()
    parts = iter([body[:100], body[100:]])  # httpx sends an iterator chunked, no Content-Length
    response = client.post("/push", content=parts, headers=signed(body.decode(), doc["message_id"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": True} and store.count() == 1


def test_the_cap_is_a_setting(store: ClientStore) -> None:
    doc = example("notification.birth")
    body = json.dumps(doc)
    small = len(body.encode()) - 1
    with serving(create_receiver_app(store, SECRET, max_body_bytes=small)) as p:
        response = httpx.post(
            f"http://127.0.0.1:{p}/", content=body.encode(), headers=signed(body, doc["message_id"])
        )
    assert _problem(response, 413)["max_body_bytes"] == small
    assert store.count() == 0
    with pytest.raises(ValueError, match="max_body_bytes"):
        create_receiver_app(store, SECRET, max_body_bytes=0)


# --- secret rotation: the gateway signs with the old and the new secret during the overlap ----

OLD, NEW, UNKNOWN = ("whsec_" + base64.b64encode(os.urandom(32)).decode() for _ in range(3))


def _signed_by(body: str, message_id: str, *secrets: str) -> dict[str, str]:
    moment = datetime.now(UTC)
    headers = signed(body, message_id, secret=secrets[0], when=moment)
    headers["webhook-signature"] = " ".join(
        Webhook(s).sign(message_id, moment, body) for s in secrets
    )
    return headers


def test_during_a_rotation_a_push_verifies_under_any_configured_secret(
    tmp_path: Path,
) -> None:
    expected = {
        # receiver configured with … : {push signed by … : status}
        (OLD,): {(OLD, NEW): 200, (OLD,): 200, (NEW,): 401},  # the county has not switched yet
        (NEW,): {(OLD, NEW): 200, (NEW,): 200, (OLD,): 401},  # it switched during the overlap
        (OLD, NEW): {(OLD,): 200, (NEW,): 200, (OLD, NEW): 200, (UNKNOWN,): 401},  # both
    }
    for n, (configured, pushes) in enumerate(expected.items()):
        with (
            ClientStore(tmp_path / f"{n}.db") as store,
            serving(create_receiver_app(store, list(configured))) as p,
        ):
            for signers, status in pushes.items():
                doc = example("notification.birth")
                body = json.dumps(doc)
                response = httpx.post(
                    f"http://127.0.0.1:{p}/push",
                    content=body.encode(),
                    headers=_signed_by(body, doc["message_id"], *signers),
                )
                assert response.status_code == status, (configured, signers, response.text)
                assert (store.get(doc["message_id"]) is not None) == (status == 200)
    with ClientStore(tmp_path / "none.db") as store, pytest.raises(ValueError, match="secret"):
        create_receiver_app(store, [])
