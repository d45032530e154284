"""The push receiver: Standard Webhooks signature, validation, store once, honest status."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook

from adapters.client.store import ClientStore
from adapters.receiver import create_receiver_app
from gateway.server import BackgroundServer
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
def client(store: ClientStore) -> Iterator[httpx.Client]:
    """The receiver on a real port, as the gateway's worker would reach it."""
    config = uvicorn.Config(
        create_receiver_app(store, SECRET), host="127.0.0.1", port=0, log_level="warning"
    )
    with (
        BackgroundServer(config) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as c,
    ):
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
