"""`gateway node add|list|revoke`: the token is shown once and stored only as a digest."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.nodes.tokens import token_hash
from gateway.settings import get_settings

runner = CliRunner()


def _db(data_dir: Path) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(f"sqlite:///{data_dir / 'gateway.db'}")


def test_add_prints_token_once_and_stores_only_its_digest() -> None:
    result = runner.invoke(
        app, ["node", "add", "430582", "--name", "邵东市", "--endpoint", "https://x.example/in"]
    )
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    token = added["token"]
    assert added["code"] == "430582" and added["role"] == "node" and token.startswith("gwt_")
    engine = _db(get_settings().data_dir)
    with engine.connect() as conn:
        dump = "\n".join(str(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM nodes"))
    engine.dispose()
    assert token not in dump
    assert token_hash(token) in dump
    listed = json.loads(runner.invoke(app, ["node", "list"]).stdout)
    assert [n["code"] for n in listed] == ["430582"]
    assert "token" not in listed[0]


def test_second_active_node_for_a_code_is_refused() -> None:
    assert runner.invoke(app, ["node", "add", "430582", "--name", "a"]).exit_code == 0
    again = runner.invoke(app, ["node", "add", "430582", "--name", "b"])
    assert again.exit_code == 1
    assert json.loads(again.stdout)["errors"][0]["rule"] == "node_exists"


def test_a_supervisor_and_a_node_may_share_a_code_in_either_order() -> None:
    """A province office both supervises and exchanges; each role has its own row."""
    sup = ["node", "add", "430000", "--name", "省监管", "--role", "supervisor"]
    node = ["node", "add", "430000", "--name", "省节点", "--endpoint", "https://x.example/in"]
    assert runner.invoke(app, sup).exit_code == 0
    assert runner.invoke(app, node).exit_code == 0, "a supervisor row must not block the node"
    shown = runner.invoke(app, ["node", "push-secret", "430000"])
    assert shown.exit_code == 0, shown.output
    for code in ("430100", "430200"):
        assert runner.invoke(app, [*node[:2], code, *node[3:]]).exit_code == 0
        assert runner.invoke(app, [*sup[:2], code, *sup[3:]]).exit_code == 0


def test_bad_code_role_and_endpoint_name_their_fields() -> None:
    bad = runner.invoke(app, ["node", "add", "4305", "--name", "x", "--role", "king"])
    assert bad.exit_code == 1
    fields = {(e["field"], e["rule"]) for e in json.loads(bad.stdout)["errors"]}
    assert fields == {("code", "division_format"), ("role", "code_unknown")}
    url = runner.invoke(app, ["node", "add", "430582", "--name", "x", "--endpoint", "ftp://x"])
    assert json.loads(url.stdout)["errors"][0]["field"] == "endpoint"


def test_revoke_then_list() -> None:
    runner.invoke(app, ["node", "add", "430582", "--name", "a"])
    revoked = runner.invoke(app, ["node", "revoke", "430582"])
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["revoked"] == 1
    assert json.loads(runner.invoke(app, ["node", "list"]).stdout) == []
    assert len(json.loads(runner.invoke(app, ["node", "list", "--all"]).stdout)) == 1
    assert runner.invoke(app, ["node", "revoke", "430582"]).exit_code == 1


def test_node_add_routes_what_waited_for_a_node_at_once() -> None:
    """PROTOCOL §8.2 through the command operators use: a message no node covered is in the
    new node's inbox as soon as `gateway node add` returns, with a deadline from then."""
    import httpx

    from gateway.server import BackgroundServer, Gateway, uvicorn_config
    from tests.api.conftest import example

    residence = json.loads(runner.invoke(app, ["node", "add", "441900", "--name", "东莞"]).stdout)
    doc = example("notification.birth")
    doc.pop("recipient", None)
    doc["subject"]["hukou_code"] = "510104003201"  # 成都市锦江区: no node yet
    with (
        Gateway(get_settings()) as rt,
        BackgroundServer(uvicorn_config(rt, "127.0.0.1", 0, log_level="warning")) as server,
    ):
        url = f"http://127.0.0.1:{server.port}"
        headers = {"Authorization": f"Bearer {residence['token']}"}
        sent = httpx.post(f"{url}/api/v1/messages", json=doc, headers=headers, timeout=10)
        assert sent.status_code == 202 and sent.json()["state"] == "unmatched", sent.text
        added = runner.invoke(app, ["node", "add", "510104", "--name", "锦江区"])
        assert added.exit_code == 0, added.output
        shown = json.loads(added.stdout)
        assert shown["routed_waiting"] == 1
        inbox = httpx.get(
            f"{url}/api/v1/inbox",
            headers={"Authorization": f"Bearer {shown['token']}"},
            timeout=10,
        ).json()["messages"]
        assert [m["message_id"] for m in inbox] == [doc["message_id"]]
        assert inbox[0]["due_at"] is not None
