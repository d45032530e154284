"""Shared pieces of the benchmarks: synthetic messages, fresh databases, nodes."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy

from gateway.db.migrate import upgrade
from gateway.nodes.service import add_node
from gateway.runtime import Runtime
from gateway.settings import Settings

EXAMPLES = Path(__file__).resolve().parent.parent / "message_schemas" / "examples" / "v1"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESIDENCE, ORIGIN = "441900", "430582"


def notifications(count: int) -> list[bytes]:
    """``count`` valid notifications, cycling the eight categories, each with its own id."""
    templates = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(EXAMPLES.glob("notification.*.json"))
    ]
    out = []
    for i in range(count):
        doc: dict[str, Any] = templates[i % len(templates)]
        doc["message_id"] = str(uuid.uuid4())
        out.append(json.dumps(doc, ensure_ascii=False).encode())
    return out


def pg_available() -> bool:
    try:
        engine = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except sqlalchemy.exc.OperationalError:
        return False
    return True


def reachable_backends(names: str) -> list[str]:
    """The comma-separated backends that can run here (PostgreSQL skipped, and said, when it
    cannot be reached)."""
    out = []
    for backend in names.split(","):
        if backend == "postgresql" and not pg_available():
            print("skip postgresql: not reachable")
            continue
        out.append(backend)
    return out


@contextmanager
def fresh_runtime(backend: str) -> Iterator[Runtime]:
    """A migrated, empty database (SQLite file in a temp dir, or a fresh PostgreSQL schema)
    with the residence and origin nodes registered."""
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            admin = sqlalchemy.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        runtime = Runtime.create(Settings(data_dir=Path(tmp), database_url=url))
        try:
            upgrade(runtime.engine)
            with runtime.session() as session:
                for code in (RESIDENCE, ORIGIN):
                    add_node(
                        session,
                        code=code,
                        name=code,
                        role="node",
                        endpoint=None,
                        now=runtime.time.now(),
                        divisions=runtime.registry,
                    )
                session.commit()
            yield runtime
        finally:
            runtime.close()
            if backend != "sqlite":
                with admin.begin() as conn:
                    conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
