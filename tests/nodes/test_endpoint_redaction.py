"""A receiver endpoint with credentials (userinfo, an API key in the query) is used for the
push, but shown to no one and logged nowhere: not in the attempts of GET /api/v1/messages/{id}
(the sender sees them), not in the server's log lines, not in the CLI's listings."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.logs import configure_logging
from tests.api.conftest import example
from tests.conftest import STACKS
from tests.delivery.conftest import pushing_gateway, status, wait_until
from tests.delivery.receivers import receiver

PASSWORD = "s3cret-Pa55word"
API_KEY = "k3y-0123456789abcdef"
runner = CliRunner()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging afterwards (the test calls it: in its body, sys.stderr is
    capsys's stream)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _with_credentials(url: str) -> str:
    parts = urlsplit(url)
    return f"http://gw-push:{PASSWORD}@{parts.netloc}{parts.path}?apikey={API_KEY}&v=1"


@pytest.mark.parametrize("kind", STACKS)
def test_credentials_in_an_endpoint_are_neither_shown_nor_logged(
    kind: str,
    tmp_path: Path,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging()  # as `gateway serve` does: JSON lines on stderr
    with pushing_gateway(kind, tmp_path) as gw, receiver() as county:
        endpoint = _with_credentials(county.url)
        residence = gw.node("441900")
        gw.token("430582", endpoint=endpoint)
        supervisor = gw.node("430000", role="supervisor")
        msg = example("notification.pregnancy")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        mid = msg["message_id"]
        assert wait_until(lambda: status(residence, mid)["delivery"] == "delivered")
        assert county.seen(mid)  # the push went to the endpoint, credentials and all

        for viewer in (residence, supervisor):
            answer = viewer.get(f"/api/v1/messages/{mid}")
            assert answer.status_code == 200, answer.text
            assert PASSWORD not in answer.text and API_KEY not in answer.text
            [attempt] = answer.json()["attempts"]
            assert attempt["endpoint"] == county.url  # scheme://host:port/path

        monkeypatch.setenv("GATEWAY_DATABASE_URL", gw.runtime.settings.resolved_database_url())

        monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(gw.runtime.sealer.keys.path))

        monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(gw.runtime.receipts.keys.path))
        for command in (["node", "list"], ["node", "push-secret", "430582"]):
            shown = runner.invoke(app, command)
            assert shown.exit_code == 0, shown.output
            assert PASSWORD not in shown.output and API_KEY not in shown.output
            assert county.url in shown.output
        added = runner.invoke(
            app, ["node", "add", "430524", "--name", "新邵", "--endpoint", endpoint]
        )
        assert added.exit_code == 0, added.output
        assert json.loads(added.stdout)["endpoint"] == county.url

    logged = capsys.readouterr().err
    assert '"message_id"' in logged  # the worker's JSON lines were captured
    assert PASSWORD not in logged and API_KEY not in logged
