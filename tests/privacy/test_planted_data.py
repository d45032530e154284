"""Plant a distinctive name and ID number, run an exchange through every path that touches
them (accept, route, push to a real receiver, inbox pull, answer, acknowledge), then search
everything the gateway wrote: the database (SQLite file, WAL and shared memory; a pg_dump of
PostgreSQL), Redis's data, every log line and /metrics. Nothing may match, in UTF-8, GB18030
or JSON escapes."""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import Harness, example
from tests.delivery.conftest import pushing_gateway, status, wait_until
from tests.delivery.receivers import receiver
from tests.synthetic import make_id

NAME = "蔺澹薇"
ID_NUMBER = make_id("430582", date(1994, 3, 17), 28)  # even: female


def encodings(text: str) -> list[bytes]:
    escaped = json.dumps(text)  # \\uXXXX, lower-case hex
    return [
        text.encode("utf-8"),
        text.encode("gb18030"),
        escaped.strip('"').encode("ascii"),
        escaped.strip('"').upper().replace("\\U", "\\u").encode("ascii"),
    ]


NEEDLES = [*encodings(NAME), *encodings(ID_NUMBER)]
# the ID number's digits are ASCII in every encoding above: one needle covers them
NEEDLES = list(dict.fromkeys(NEEDLES))


def found_in(blob: bytes) -> list[bytes]:
    return [n for n in NEEDLES if n in blob]


def _exchange(gw: Harness, county_url: str) -> tuple[str, dict[str, Any]]:
    residence = gw.node("441900")
    origin_token = gw.token("430582", endpoint=county_url)
    origin = gw.client(origin_token)
    msg = example("notification.pregnancy")
    msg["subject"]["name"] = NAME
    msg["subject"]["id_number"] = ID_NUMBER
    msg["subject"]["birth_date"] = "1994-03-17"
    accepted = residence.post("/api/v1/messages", json=msg)
    assert accepted.status_code == 202, accepted.text
    mid = msg["message_id"]
    assert wait_until(lambda: status(residence, mid)["delivery"] == "delivered")
    pulled = origin.get("/api/v1/inbox").json()["messages"]
    assert [m["message_id"] for m in pulled] == [mid]
    # stored and returned exactly as accepted: the subject comes back as sent
    assert pulled[0]["envelope"]["subject"]["name"] == NAME
    assert pulled[0]["envelope"]["subject"]["id_number"] == ID_NUMBER
    answer = example("feedback", in_reply_to=mid)
    answer["body"]["remarks"] = f"已核实 {NAME}"  # free text that names her
    assert origin.post("/api/v1/messages", json=answer).status_code == 202
    assert origin.post(f"/api/v1/inbox/{mid}/ack").status_code == 200
    back = residence.get("/api/v1/inbox").json()["messages"]
    assert [m["message_id"] for m in back] == [answer["message_id"]]
    assert residence.post(f"/api/v1/inbox/{answer['message_id']}/ack").status_code == 200
    metrics = gw.client(None).get("/metrics")
    assert metrics.status_code == 200
    return mid, {"metrics": metrics.content}


def _database_bytes(gw: Harness, tmp_path: Path) -> dict[str, bytes]:
    url = gw.runtime.settings.resolved_database_url()
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return {
            p.name: p.read_bytes()
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
            if p.exists()
        }
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["options"][0].split("search_path=")[1].split()[0]
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            parts.hostname or "127.0.0.1",
            "-U",
            parts.username or "postgres",
            "-n",
            schema,
            (parts.path or "/test").lstrip("/"),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"CREATE TABLE" in dump.stdout and b"COPY" in dump.stdout  # it did dump the data
    return {"pg_dump": dump.stdout}


def _redis_bytes(gw: Harness) -> bytes:
    client = gw.runtime.redis
    assert client is not None
    out = []
    for key in client.scan_iter("*"):
        out.append(key if isinstance(key, bytes) else str(key).encode())
        dumped = client.dump(key)
        if dumped:
            out.append(dumped if isinstance(dumped, bytes) else str(dumped).encode())
    return b"\n".join(out)


@pytest.mark.parametrize("kind", ["embedded", "services"])
def test_planted_personal_data_is_nowhere_but_in_the_deliveries(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with pushing_gateway(kind, tmp_path) as gw, receiver() as county:
        mid, seen = _exchange(gw, county.url)
        assert county.seen(mid)  # it was pushed (the receiver got it, over HTTP)
        places = {**_database_bytes(gw, tmp_path), "redis": _redis_bytes(gw), **seen}
        if kind == "embedded":
            gw.runtime.redis.save()  # type: ignore[union-attr]
            for path in tmp_path.rglob("*"):  # the database, Redis's dump and its log
                if path.is_file() and "secrets" not in path.parts and not path.is_socket():
                    places[f"file {path.name}"] = path.read_bytes()
    captured = capfd.readouterr()
    places["stdout"] = captured.out.encode("utf-8")
    places["stderr"] = captured.err.encode("utf-8")
    places["log records"] = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records
    ).encode("utf-8")
    assert places["pg_dump" if kind == "services" else "gateway.db"]  # the search had data
    leaks = {place: found_in(blob) for place, blob in places.items() if found_in(blob)}
    assert leaks == {}, {p: [n.decode("utf-8", "replace") for n in ns] for p, ns in leaks.items()}
