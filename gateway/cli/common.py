"""Helpers shared by the commands that open the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from gateway.db.migrate import upgrade
from gateway.errors import GatewayError
from gateway.runtime import Runtime
from gateway.settings import get_settings


@contextmanager
def runtime() -> Iterator[Runtime]:
    """A runtime on the configured database, migrated to the current schema."""
    rt = Runtime.create(get_settings())
    try:
        upgrade(rt.engine)
        yield rt
    finally:
        rt.close()


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(exc: GatewayError) -> None:
    """Print a domain error as problem JSON on stdout and exit 1."""
    print_json(exc.problem())
    raise typer.Exit(1)
