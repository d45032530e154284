"""Push secrets: derived from the signing key, the node's row id and its code; a Standard
Webhooks secret; different for another node, another row of the same code, another key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.nodes.push_secret import push_secret

runner = CliRunner()


def test_the_secret_is_the_documented_hmac() -> None:
    secret = push_secret("k", 12, "430582")
    expected = hmac.new(b"k", b"push-signing:v1:12:430582", hashlib.sha256).digest()
    assert secret == "whsec_" + base64.b64encode(expected).decode()
    assert push_secret("k", 12, "430582") == secret  # derived, so the same every time
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_the_secret_differs_per_node_row_code_and_key() -> None:
    secrets = {
        push_secret("k", 12, "430582"),
        push_secret("k", 13, "430582"),  # the node removed and added again
        push_secret("k", 12, "430581"),
        push_secret("k2", 12, "430582"),  # the signing key rotated
        push_secret("k", 1, "2430582"),  # no ambiguity where id and code meet
        push_secret("k", 12, "43058"),
    }
    assert len(secrets) == 6


def test_a_standard_webhooks_library_signs_and_verifies_with_it() -> None:
    mine, other = Webhook(push_secret("k", 12, "430582")), Webhook(push_secret("k", 13, "430582"))
    now = datetime.now(UTC)
    body = '{"message_id": "m-1"}'
    headers = {
        "webhook-id": "m-1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": mine.sign("m-1", now, body),
    }
    assert mine.verify(body.encode(), headers) == {"message_id": "m-1"}
    with pytest.raises(WebhookVerificationError):
        other.verify(body.encode(), headers)


def test_cli_shows_the_secret_of_the_active_row_and_a_re_added_node_gets_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PUSH_SIGNING_KEY", "cli-test-key")
    added = runner.invoke(
        app, ["node", "add", "430582", "--name", "邵东市", "--endpoint", "https://x.example/in"]
    )
    assert added.exit_code == 0, added.output
    first = json.loads(added.stdout)["push_secret"]
    shown = runner.invoke(app, ["node", "push-secret", "430582"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["push_secret"] == first
    assert first == push_secret("cli-test-key", 1, "430582")  # the first row of a new database

    assert runner.invoke(app, ["node", "revoke", "430582"]).exit_code == 0
    gone = runner.invoke(app, ["node", "push-secret", "430582"])
    assert gone.exit_code == 1 and json.loads(gone.stdout)["status"] == 404

    again = runner.invoke(
        app, ["node", "add", "430582", "--name", "邵东市", "--endpoint", "https://x.example/in"]
    )
    second = json.loads(again.stdout)["push_secret"]
    assert second != first
    assert (
        json.loads(runner.invoke(app, ["node", "push-secret", "430582"]).stdout)["push_secret"]
        == second
    )

    monkeypatch.setenv("GATEWAY_PUSH_SIGNING_KEY", "rotated-key")
    rotated = json.loads(runner.invoke(app, ["node", "push-secret", "430582"]).stdout)
    assert rotated["push_secret"] not in (first, second)


def test_only_nodes_with_an_endpoint_are_given_a_secret_on_add() -> None:
    pulled = runner.invoke(app, ["node", "add", "430582", "--name", "邵东市"])
    assert pulled.exit_code == 0 and "push_secret" not in json.loads(pulled.stdout)
    supervisor = runner.invoke(
        app,
        [
            "node",
            "add",
            "430000",
            "--name",
            "湖南省",
            "--role",
            "supervisor",
            "--endpoint",
            "https://x.example/p",
        ],
    )
    assert supervisor.exit_code == 0 and "push_secret" not in json.loads(supervisor.stdout)


def test_version_0_is_the_original_derivation_and_each_version_differs() -> None:
    original = (
        "whsec_"
        + base64.b64encode(
            hmac.new(b"k", b"push-signing:v1:12:430582", hashlib.sha256).digest()
        ).decode()
    )
    assert push_secret("k", 12, "430582", 0) == push_secret("k", 12, "430582") == original
    versions = {push_secret("k", 12, "430582", v) for v in range(5)}
    assert len(versions) == 5
    assert push_secret("k", 12, "430582", 1) != push_secret("k", 13, "430582", 1)
    with pytest.raises(ValueError, match="version"):
        push_secret("k", 12, "430582", -1)
