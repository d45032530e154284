"""Ops endpoints (PROTOCOL.md §6): liveness, readiness on both stacks and with Redis gone, the
published OpenAPI document, and the deadline rule as a service (§4's two worked examples)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.db.migrate import upgrade
from gateway.embedded_redis import redis_client
from gateway.runtime import Runtime
from gateway.server import BackgroundServer, Gateway, uvicorn_config
from gateway.settings import Settings
from gateway.time_source import ManualTime
from tests.api.conftest import PROBLEM_JSON, START, TIMEOUT, Harness


def test_healthz_answers_without_a_token(gw: Harness) -> None:
    response = httpx.get(f"{gw.url}/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_redis_ok(gw: Harness) -> None:
    response = httpx.get(f"{gw.url}/readyz", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }


@contextmanager
def _serve(runtime: Runtime) -> Iterator[str]:
    with BackgroundServer(uvicorn_config(runtime, "127.0.0.1", 0, log_level="warning")) as server:
        yield f"http://127.0.0.1:{server.port}"


@contextmanager
def _dead_port_redis(tmp_path: Path) -> Iterator[str]:
    """A gateway whose Redis client points at a port nothing listens on."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        redis_url="redis://127.0.0.1:1/0",
        redis_timeout_s=0.5,
    )
    client = redis_client(settings.redis_url, settings)
    runtime = Runtime.create(settings, time=ManualTime(START), redis=client)
    upgrade(runtime.engine)
    try:
        with _serve(runtime) as url:
            yield url
    finally:
        runtime.close()
        client.close()


@contextmanager
def _embedded_redis_stopped(tmp_path: Path) -> Iterator[str]:
    """The embedded default, whose Redis server dies after the gateway started."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        redis_url="",
        redis_timeout_s=0.5,
    )
    gateway = Gateway(settings, time_source=ManualTime(START))
    with gateway as runtime, _serve(runtime) as url:
        assert httpx.get(f"{url}/readyz", timeout=TIMEOUT).status_code == 200
        assert gateway.embedded_redis is not None
        gateway.embedded_redis.stop()
        yield url


@pytest.mark.parametrize(
    "setup", [_dead_port_redis, _embedded_redis_stopped], ids=["dead-port", "embedded-stopped"]
)
def test_readyz_is_503_and_names_redis_when_redis_is_unreachable(
    tmp_path: Path, setup: Any
) -> None:
    with setup(tmp_path) as url:
        response = httpx.get(f"{url}/readyz", timeout=TIMEOUT)
        liveness = httpx.get(f"{url}/healthz", timeout=TIMEOUT)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ")
    assert "127.0.0.1" not in body["checks"]["redis"]  # the kind of failure, not its text
    assert liveness.status_code == 200  # alive, just not ready


# Paths of PROTOCOL.md §6 the gateway implements today. Compliance, the unmatched queue and
# /metrics are not implemented yet (see the report); they are not asserted here.
PROTOCOL_PATHS = [
    ("post", "/api/v1/messages"),
    ("post", "/api/v1/messages/batch"),
    ("get", "/api/v1/messages/{message_id}"),
    ("get", "/api/v1/inbox"),
    ("post", "/api/v1/inbox/{message_id}/ack"),
    ("get", "/api/v1/calendar/due"),
    ("get", "/healthz"),
    ("get", "/readyz"),
]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One embedded gateway for the read-only checks below (they touch no stored data)."""
    tmp = tmp_path_factory.mktemp("shared-gateway")
    settings = Settings(
        data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'gateway.db'}", redis_url=""
    )
    clock = ManualTime(START)
    with Gateway(settings, time_source=clock) as runtime, _serve(runtime) as url:
        harness = Harness(url, runtime, clock)
        yield harness
        for client in harness.clients:
            client.close()


@pytest.fixture(scope="module")
def openapi(shared: Harness) -> dict[str, Any]:
    response = httpx.get(f"{shared.url}/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


@pytest.fixture(scope="module")
def node_client(shared: Harness) -> httpx.Client:
    return shared.node("441900")


@pytest.mark.parametrize(("method", "path"), PROTOCOL_PATHS)
def test_openapi_publishes_the_protocol_path(
    openapi: dict[str, Any], method: str, path: str
) -> None:
    assert method in openapi["paths"].get(path, {}), sorted(openapi["paths"])


def test_openapi_has_the_message_schema_and_every_reference_resolves(
    openapi: dict[str, Any],
) -> None:
    schemas = openapi["components"]["schemas"]
    message = schemas["Message"]
    assert message["discriminator"]["propertyName"] == "type"
    assert set(message["discriminator"]["mapping"]) == {
        "notification",
        "feedback",
        "query",
        "query_reply",
        "assist_request",
        "assist_reply",
    }
    body = openapi["paths"]["/api/v1/messages"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Message"}
    dangling = sorted(
        {ref for ref in _refs(openapi) if ref.removeprefix("#/components/schemas/") not in schemas}
    )
    assert dangling == []


def test_openapi_documents_a_response_schema_for_every_operation(
    openapi: dict[str, Any],
) -> None:
    """Every operation names what it answers on success and on refusal (problem+json)."""
    undocumented = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            for code in success:
                content = responses[code].get("content", {})
                if not content or not all(v.get("schema") for v in content.values()):
                    undocumented.append(f"{method.upper()} {path} {code}")
            refusal = responses.get("422", {}).get("content", {})
            if "application/problem+json" not in refusal:
                undocumented.append(f"{method.upper()} {path} 422")
            if not success:
                undocumented.append(f"{method.upper()} {path} (no 2xx)")
    assert undocumented == []


@pytest.mark.parametrize(
    ("available_at", "due_date"),
    [
        ("2025-09-30", "2025-10-14"),  # 1–8 Oct off; Saturday 11 Oct is a make-up working day
        ("2026-09-30", "2026-10-13"),
    ],
)
def test_calendar_due_follows_the_protocol_examples(
    node_client: httpx.Client, available_at: str, due_date: str
) -> None:
    response = node_client.get("/api/v1/calendar/due", params={"available_at": available_at})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["available_date"] == available_at
    assert body["window"] == {"amount": 5, "unit": "working_days"}
    assert body["due_date"] == due_date
    assert body["due_at"] == f"{due_date}T23:59:59.999000+08:00"
    assert body["provisional"] is False


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"available_at": "30/09/2026"}, "available_at", "datetime_format"),
        ({"available_at": "2026-09-30T12:00:00"}, "available_at", "datetime_format"),
        (
            {"available_at": "2026-09-30", "working_days": 5, "calendar_days": 5},
            "calendar_days",
            "exclusive",
        ),
        ({"available_at": "2026-09-30", "working_days": 0}, "working_days", "greater_than_equal"),
        ({}, "available_at", "missing"),
        # far outside the calendar's years: a 422 naming the field, never a 500
        ({"available_at": "1900-01-01"}, "available_at", "calendar_range"),
        ({"available_at": "2150-01-01"}, "available_at", "calendar_range"),
        ({"available_at": "9999-12-31", "calendar_days": 365}, "available_at", "calendar_range"),
        ({"available_at": "2099-12-31", "working_days": 5}, "available_at", "calendar_range"),
        ({"available_at": "0001-01-01T00:00:00+14:00"}, "available_at", "calendar_range"),
        ({"available_at": "9999-12-31T23:59:59-12:00"}, "available_at", "calendar_range"),
        ({"available_at": "9999-12-31T23:59:59+14:00"}, "available_at", "calendar_range"),
    ],
)
def test_calendar_due_rejects_bad_parameters_as_problems(
    node_client: httpx.Client, params: dict[str, Any], field: str, rule: str
) -> None:
    response = node_client.get("/api/v1/calendar/due", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 422 and body["type"] and body["title"]
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in body["errors"]
    ]


@pytest.mark.parametrize(
    ("available_at", "available_date"),
    [("2026-09-30T23:30:00+14:00", "2026-09-30"), ("2026-09-30T00:30:00-12:00", "2026-09-30")],
)
def test_calendar_due_takes_extreme_offsets(
    node_client: httpx.Client, available_at: str, available_date: str
) -> None:
    """+14:00 and -12:00 are real offsets: the local Shanghai date decides."""
    response = node_client.get("/api/v1/calendar/due", params={"available_at": available_at})
    assert response.status_code == 200, response.text
    assert response.json()["available_date"] == available_date


def test_calendar_due_needs_a_token(shared: Harness) -> None:
    response = httpx.get(
        f"{shared.url}/api/v1/calendar/due", params={"available_at": "2026-09-30"}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
