"""Push endpoints: only http(s) with a host, a port in 1–65535 and no fragment; the address
ranges GATEWAY_ENDPOINT_ALLOWED_NETWORKS allows (or, unset, what production refuses) are
checked at registration — a host name resolved, every address — and again by the worker,
which records a refused address as a permanent ``endpoint_refused``."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.delivery import repository as delivery_repository
from gateway.errors import InvalidInput
from gateway.nodes.push_endpoint import NetworkPolicy, check_endpoint, redact, syntax_errors
from gateway.settings import Settings
from tests.api.conftest import example
from tests.conftest import STACKS
from tests.delivery.conftest import pushing_gateway, status, wait_until
from tests.delivery.receivers import receiver

runner = CliRunner()
PRODUCTION = NetworkPolicy.of([], production=True)
SECRETS = {
    "GATEWAY_PUSH_SIGNING_KEY": "a-long-random-push-signing-key-0123456789",
    "GATEWAY_PERSON_KEY_SECRET": "a-long-random-person-key-secret-0123456789",
}


def rules(url: str, policy: NetworkPolicy | None = None) -> list[str]:
    errors = []
    try:
        check_endpoint(url, policy, 2.0)
    except InvalidInput as exc:
        errors = exc.errors
    assert {e.field for e in errors} <= {"endpoint"}
    return [e.rule for e in errors]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://fp.shaodong.example/gateway", []),
        ("http://10.1.2.3:8080/in?apikey=x", []),
        ("http://user:pw@[2001:db8::1]:443/in", []),
        ("ftp://x.example/in", ["url_scheme"]),
        ("file:///etc/passwd", ["url_scheme", "url_host"]),
        ("http:///in", ["url_host"]),
        ("http://h:99999/", ["url_port"]),
        ("http://h:abc/", ["url_port"]),
        ("http://h:0/", ["url_port"]),
        ("http://h:65535/", []),
        ("http://h/in#part", ["url_fragment"]),
        ("http://h/in#", ["url_fragment"]),
        ("http://h/a b", ["url_format"]),
        ("http://[::1/in", ["url_format"]),
        ("http://h/" + "x" * 500, ["url_format"]),
    ],
)
def test_url_rules(url: str, expected: list[str]) -> None:
    assert [e.rule for e in syntax_errors(url)] == expected
    assert rules(url) == expected


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "169.254.169.254",  # the cloud metadata service
        "fe80::1",
        "0.0.0.0",
        "0.1.2.3",
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_production_refuses_local_and_special_addresses(address: str) -> None:
    assert not PRODUCTION.allows(ipaddress.ip_address(address))
    url = f"http://[{address}]/in" if ":" in address else f"http://{address}/in"
    assert rules(url, PRODUCTION) == ["endpoint_network_refused"]
    assert rules(url, NetworkPolicy.of([], production=False)) == []  # development: any


@pytest.mark.parametrize(
    "address", ["10.2.3.4", "172.16.0.9", "192.168.1.1", "8.8.8.8", "2001:db8::5"]
)
def test_production_allows_ordinary_addresses(address: str) -> None:
    assert PRODUCTION.allows(ipaddress.ip_address(address))


def test_an_allow_list_is_the_only_thing_allowed_in_any_environment() -> None:
    for production in (False, True):
        policy = NetworkPolicy.of(["10.0.0.0/8", "127.0.0.0/8"], production=production)
        assert rules("http://10.9.9.9/in", policy) == []
        assert rules("http://127.0.0.1:8000/in", policy) == []  # listed, so allowed
        assert rules("http://192.168.0.1/in", policy) == ["endpoint_network_refused"]


def test_a_host_name_is_resolved_and_every_address_must_be_allowed() -> None:
    # "localhost" resolves to loopback addresses (127.0.0.1, often ::1 too)
    assert rules("http://localhost:8000/in", PRODUCTION) == ["endpoint_network_refused"]
    only_v4 = NetworkPolicy.of(["127.0.0.0/8"], production=True)
    resolved = rules("http://localhost:8000/in", only_v4)
    assert resolved in ([], ["endpoint_network_refused"])  # refused iff it also gives ::1
    assert rules("http://no-such-host.invalid/in", PRODUCTION) == ["endpoint_unresolvable"]
    # development without an allow-list looks nothing up
    started = time.monotonic()
    assert rules("http://no-such-host.invalid/in", NetworkPolicy()) == []
    assert time.monotonic() - started < 0.5


def test_redact_keeps_scheme_host_port_and_path_only() -> None:
    assert redact("https://gw:s3cret@fp.example:8443/push/in?apikey=k&x=1") == (
        "https://fp.example:8443/push/in"
    )
    assert redact("http://[::1]:80/in") == "http://[::1]:80/in"
    assert "pw" not in redact("http://u:p@w@h/in")


def test_allowed_networks_setting_reads_json_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ENDPOINT_ALLOWED_NETWORKS", "10.0.0.0/8, 192.168.0.0/16")
    assert Settings().endpoint_allowed_networks == ["10.0.0.0/8", "192.168.0.0/16"]
    monkeypatch.setenv("GATEWAY_ENDPOINT_ALLOWED_NETWORKS", '["fd00::/8"]')
    assert Settings().endpoint_allowed_networks == ["fd00::/8"]
    monkeypatch.setenv("GATEWAY_ENDPOINT_ALLOWED_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        Settings()


def _cli(*args: str) -> tuple[int, dict[str, object] | list[object] | None]:
    result = runner.invoke(app, list(args))
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, None


def _errors(output: object) -> set[tuple[str, str]]:
    assert isinstance(output, dict)
    return {(e["field"], e["rule"]) for e in output["errors"]}


def test_the_cli_refuses_bad_endpoints_naming_the_rule(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    for url, rule in [
        ("http://127.0.0.1:99999/in", "url_port"),
        ("http://127.0.0.1:abc/in", "url_port"),
        ("gopher://h/in", "url_scheme"),
        ("http://h/in#x", "url_fragment"),
    ]:
        code, output = _cli("node", "add", "430582", "--name", "邵东", "--endpoint", url)
        assert code == 1 and _errors(output) == {("endpoint", rule)}, output
    # production: loopback and the metadata address are refused, at add and at set-endpoint
    for name, value in {**SECRETS, "GATEWAY_ENV": "production"}.items():
        monkeypatch.setenv(name, value)
    # the keys this database was encrypted with, now named as production names them
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(data_dir / "secrets" / "keyring.toml"))
    monkeypatch.setenv("GATEWAY_RECEIPT_KEYS_FILE", str(data_dir / "secrets" / "receipt-keys.toml"))
    for url in ("http://127.0.0.1:8000/in", "http://169.254.169.254/latest/meta-data"):
        code, output = _cli("node", "add", "430582", "--name", "邵东", "--endpoint", url)
        assert code == 1 and _errors(output) == {("endpoint", "endpoint_network_refused")}
    assert (
        _cli("node", "add", "430582", "--name", "邵东", "--endpoint", "http://10.0.0.7/in")[0] == 0
    )
    code, output = _cli("node", "set-endpoint", "430582", "http://[::1]:8000/in")
    assert code == 1 and _errors(output) == {("endpoint", "endpoint_network_refused")}
    # an operator's allow-list opens exactly what it lists
    monkeypatch.setenv("GATEWAY_ENDPOINT_ALLOWED_NETWORKS", "127.0.0.0/8")
    assert _cli("node", "set-endpoint", "430582", "http://127.0.0.1:8000/in")[0] == 0
    code, output = _cli("node", "set-endpoint", "430582", "http://10.0.0.7/in")
    assert code == 1 and _errors(output) == {("endpoint", "endpoint_network_refused")}


@pytest.mark.parametrize("kind", STACKS)
def test_the_worker_refuses_an_address_the_policy_does_not_allow(kind: str, tmp_path: Path) -> None:
    """A node registered before the allow-list was set (or whose name now resolves
    elsewhere): the worker checks before it sends, sends nothing, and the message is dead at
    once with ``endpoint_refused`` in its attempt row — it stays in the inbox for pull."""
    with (
        pushing_gateway(kind, tmp_path, endpoint_allowed_networks=["10.0.0.0/8"]) as gw,
        receiver() as county,
    ):
        residence = gw.node("441900")
        gw.token("430582", endpoint=county.url)  # the harness registers without the check
        msg = example("notification.pregnancy")
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
        mid = msg["message_id"]
        assert wait_until(lambda: status(residence, mid)["delivery"] == "dead", 10)
        with gw.runtime.session() as session:
            attempts = delivery_repository.attempts_of(session, mid)
        assert [(a["outcome"], a["error"], a["status_code"]) for a in attempts] == [
            ("dead", "endpoint_refused", None)
        ]
        time.sleep(0.5)
        assert county.hits == []  # nothing was sent
