"""Pushes are signed (Standard Webhooks): a county receiver holding the node's push secret
verifies each one with the `standardwebhooks` library; one holding any other secret does not.
The secret the CLI shows is the one the worker signs with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.delivery import worker as worker_module
from gateway.delivery.repository import Claimed
from gateway.delivery.worker import DeliveryWorker
from gateway.nodes import repository as nodes_repository
from gateway.nodes.push_secret import push_secret
from gateway.settings import Settings
from tests.api.conftest import Harness, example
from tests.conftest import STACKS
from tests.delivery.conftest import pushing_gateway, status, wait_until
from tests.delivery.receivers import serving

runner = CliRunner()
KEY = "test-push-signing-key"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Verifier:
    """A county receiver that checks every push with its copy of the secret: 204 when the
    signature verifies, 401 when not; ``fail_first`` answers 503 to that many pushes first."""

    secret: str
    fail_first: int = 0
    url: str = ""
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.got)


@contextmanager
def verifier(secret: str, fail_first: int = 0) -> Iterator[Verifier]:
    state = Verifier(secret, fail_first)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:  # http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            try:
                Webhook(state.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            with state.lock:
                state.got.append(Received(headers, body, verified))
                nth = len(state.got)
            code = 503 if nth <= state.fail_first else (204 if verified else 401)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as url:
        state.url = url
        yield state


@pytest.fixture(params=STACKS)
def signing_gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with pushing_gateway(request.param, tmp_path, push_signing_key=KEY) as harness:
        yield harness


def node_secret(gw: Harness, code: str) -> str:
    with gw.runtime.session() as session:
        receiver = nodes_repository.active_receiver(session, code)
    assert receiver is not None
    return push_secret(KEY, receiver.id, receiver.code)


PLACEHOLDER = "whsec_" + "A" * 44  # the real secret exists once the node row does


def test_a_push_verifies_with_the_node_secret_and_names_the_message(
    signing_gw: Harness,
) -> None:
    residence = signing_gw.node("441900")
    with verifier(PLACEHOLDER, fail_first=1) as county:
        signing_gw.token("430582", endpoint=county.url)
        secret = county.secret = node_secret(signing_gw, "430582")
        msg = example("notification.pregnancy")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "delivered")
        got = county.received()
    assert len(got) == 2  # one 503, then the retry that was stored
    for push in got:
        headers = {k.lower(): v for k, v in push.headers.items()}
        assert push.verified
        assert Webhook(secret).verify(push.body, push.headers) == json.loads(push.body)
        assert headers["webhook-id"] == msg["message_id"]  # stable across retries
        assert headers["gateway-message-id"] == msg["message_id"]
        assert headers["webhook-signature"].startswith("v1,")
        assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
        assert json.loads(push.body)["message_id"] == msg["message_id"]
    assert [{k.lower(): v for k, v in p.headers.items()}["gateway-delivery-id"] for p in got] == [
        f"{msg['message_id']}/1",
        f"{msg['message_id']}/2",
    ]


def test_a_receiver_with_another_secret_rejects_the_push(signing_gw: Harness) -> None:
    residence = signing_gw.node("441900")
    with verifier(PLACEHOLDER) as county:
        signing_gw.token("430582", endpoint=county.url)
        right = node_secret(signing_gw, "430582")
        with signing_gw.runtime.session() as session:
            node = nodes_repository.active_receiver(session, "430582")
        assert node is not None
        wrong = [
            push_secret("another-gateway-key", node.id, node.code),  # another gateway's key
            push_secret(KEY, node.id + 1, node.code),  # the node's row before a re-add
        ]
        assert right not in wrong
        for secret in wrong:
            county.secret = secret
            msg = example("notification.pregnancy")
            assert residence.post("/api/v1/messages", json=msg).status_code == 202
            mid = msg["message_id"]
            assert wait_until(lambda mid=mid: status(residence, mid)["delivery"] == "dead")
        got = county.received()
    assert [p.verified for p in got] == [False, False]  # 401: permanent, no retries
    for push in got:  # the same bytes verify with the right secret: only the secret differed
        Webhook(right).verify(push.body, push.headers)


def test_the_cli_shows_the_secret_the_worker_signs_with(
    signing_gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = signing_gw.runtime.settings
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(signing_gw.runtime.sealer.keys.path))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(signing_gw.runtime.receipts.keys.path))
    monkeypatch.setenv("GATEWAY_PUSH_SIGNING_KEY", KEY)
    residence = signing_gw.node("441900")
    with verifier(PLACEHOLDER) as county:
        added = runner.invoke(
            app, ["node", "add", "430582", "--name", "邵东市", "--endpoint", county.url]
        )
        assert added.exit_code == 0, added.output
        signing_gw.runtime.invalidate_routing()
        shown = runner.invoke(app, ["node", "push-secret", "430582"])
        assert shown.exit_code == 0, shown.output
        secret = json.loads(shown.stdout)["push_secret"]
        assert json.loads(added.stdout)["push_secret"] == secret
        county.secret = secret  # the county configures what the admin gave it
        msg = example("notification.pregnancy")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        assert wait_until(lambda: status(residence, msg["message_id"])["delivery"] == "delivered")
        assert [p.verified for p in county.received()] == [True]


# -- the signing itself, without a network ----------------------------------------------


def _item(envelope: str) -> Claimed:
    return Claimed(
        message_id="0b0e6f5c-8d1a-4a57-9a39-3f1c2b8f7c11",
        node_code="430582",
        node_id=7,
        endpoint="http://127.0.0.1:9/in",
        attempt_no=3,
        window_start=datetime.now(UTC),
        envelope=None,
        sealed_envelope=None,
        data_key=None,
        kek_id=None,
        body=envelope.encode("utf-8"),  # as the claim opened it
    )


def _worker(key: str = KEY) -> DeliveryWorker:
    runtime = cast(Any, type("R", (), {"settings": Settings(push_signing_key=key)})())
    return DeliveryWorker(runtime, cast(Any, None), cast(Any, None), name="t")


def test_the_signed_time_is_the_header_time_whatever_the_clock_zone() -> None:
    envelope = json.dumps({"message_id": "x", "姓名": "张三"}, ensure_ascii=False)
    item = _item(envelope)
    # an aware non-UTC time: Webhook.sign would misread its wall clock as UTC if given as is
    at = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=0.7)
    headers = _worker()._headers(item, at)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    secret = push_secret(KEY, 7, "430582")
    assert Webhook(secret).verify(envelope.encode("utf-8"), headers, json_parse=False) is None
    assert headers["webhook-id"] == item.message_id
    assert headers["Gateway-Delivery-Id"] == f"{item.message_id}/3"
    with pytest.raises(WebhookVerificationError):
        Webhook(push_secret(KEY, 8, "430582")).verify(envelope.encode(), headers)
    with pytest.raises(WebhookVerificationError):  # a byte changed in transit
        Webhook(secret).verify(envelope.replace("张三", "李四").encode(), headers)
    stale = _worker()._headers(item, at - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(envelope.encode(), stale)


def test_each_node_secret_is_derived_once_per_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, str, int]] = []

    def counting(key: str, node_id: int, code: str, version: int = 0) -> str:
        calls.append((node_id, code, version))
        return push_secret(key, node_id, code, version)

    monkeypatch.setattr(worker_module, "push_secret", counting)
    worker = _worker()
    now = datetime.now(UTC)
    for _ in range(3):
        worker._headers(_item("{}"), now)
    assert calls == [(7, "430582", 0)]


# -- rotating one node's push secret (gateway node rotate-push-secret) -----------------------


@dataclass
class Checked:
    signatures: int  # how many v1 signatures the push carried
    verifies: dict[str, bool]  # secret name → did the standardwebhooks receiver accept it


@dataclass
class Rotating:
    """A county receiver during a rotation: each real push is checked by a Standard Webhooks
    receiver per secret it knows (``secrets``: name → secret); it answers 204 when the one it
    currently uses (``uses``) verifies, else 401."""

    secrets: dict[str, str]
    uses: str
    url: str = ""
    got: list[Checked] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last(self) -> Checked:
        with self.lock:
            return self.got[-1]


@contextmanager
def rotating(secrets: dict[str, str], uses: str) -> Iterator[Rotating]:
    state = Rotating(secrets, uses)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:  # http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            verifies = {}
            for name, secret in state.secrets.items():
                try:
                    Webhook(secret).verify(body, headers)
                    verifies[name] = True
                except WebhookVerificationError:
                    verifies[name] = False
            count = len(headers.get("webhook-signature", "").split())
            with state.lock:
                state.got.append(Checked(count, verifies))
            self.send_response(204 if verifies.get(state.uses) else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as url:
        state.url = url
        yield state


def cli(gw: Harness, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    """`gateway …` as the operator runs it, on this gateway's database and signing key."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gw.runtime.settings.resolved_database_url())
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(gw.runtime.sealer.keys.path))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(gw.runtime.receipts.keys.path))
    monkeypatch.setenv("GATEWAY_PUSH_SIGNING_KEY", KEY)
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def push_one(gw: Harness, residence: Any, expect: str) -> str:
    msg = example("notification.pregnancy")
    assert residence.post("/api/v1/messages", json=msg).status_code == 202
    mid = msg["message_id"]
    assert wait_until(lambda: status(residence, mid)["delivery"] == expect), status(residence, mid)
    return str(mid)


def test_during_a_rotation_old_and_new_secret_both_verify_then_only_the_new(
    signing_gw: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    residence = signing_gw.node("441900")
    with rotating({}, uses="old") as county:
        signing_gw.token("430582", endpoint=county.url)
        old = node_secret(signing_gw, "430582")
        rotated = cli(signing_gw, monkeypatch, "node", "rotate-push-secret", "430582")
        new = rotated["push_secret"]
        assert new != old
        assert (rotated["push_secret_version"], rotated["previous_push_secret"]) == (1, old)
        assert cli(signing_gw, monkeypatch, "node", "push-secret", "430582") == rotated
        county.secrets = {"old": old, "new": new}

        # the worker (running since before the rotation) signs with both
        push_one(signing_gw, residence, "delivered")  # the county still uses the old one
        assert county.last() == Checked(2, {"old": True, "new": True})
        county.uses = "new"  # the county installs the new secret, whenever it likes
        push_one(signing_gw, residence, "delivered")
        assert county.last() == Checked(2, {"old": True, "new": True})

        finished = cli(signing_gw, monkeypatch, "node", "rotate-push-secret", "430582", "--finish")
        assert finished["push_secret"] == new and "previous_push_secret" not in finished
        push_one(signing_gw, residence, "delivered")
        assert county.last() == Checked(1, {"old": False, "new": True})
        county.uses = "old"  # a receiver that never switched is now refused
        push_one(signing_gw, residence, "dead")
        assert county.last() == Checked(1, {"old": False, "new": True})


def test_the_overlap_ends_by_itself(signing_gw: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    residence = signing_gw.node("441900")
    with rotating({}, uses="old") as county:
        signing_gw.token("430582", endpoint=county.url)
        old = node_secret(signing_gw, "430582")
        overlap_s = 3.0
        rotated = cli(
            signing_gw,
            monkeypatch,
            "node",
            "rotate-push-secret",
            "430582",
            "--overlap-hours",
            str(overlap_s / 3600),
        )
        county.secrets = {"old": old, "new": rotated["push_secret"]}
        push_one(signing_gw, residence, "delivered")
        assert county.last() == Checked(2, {"old": True, "new": True})
        until = datetime.fromisoformat(rotated["overlap_until"])
        assert wait_until(lambda: datetime.now(UTC) > until, overlap_s + 2)
        shown = cli(signing_gw, monkeypatch, "node", "push-secret", "430582")
        assert "previous_push_secret" not in shown
        push_one(signing_gw, residence, "dead")  # the county still on the old one: 401
        assert county.last() == Checked(1, {"old": False, "new": True})
