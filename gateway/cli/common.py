"""Helpers shared by the commands that open the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer

from gateway.db.migrate import upgrade
from gateway.errors import ConfigurationError, ExchangeError, problem_of
from gateway.keys.resolve import resolve_secrets
from gateway.privacy.canary import check_keys
from gateway.reference import ReferenceSource
from gateway.runtime import Runtime
from gateway.settings import Settings, get_settings

CONFIGURATION_EXIT = 2


def startup_settings() -> Settings:
    """The configured settings with their secrets resolved; exits 2 naming each refused
    setting when they may not run (production without secrets, with a drill clock …)."""
    try:
        return resolve_secrets(get_settings())
    except ConfigurationError as exc:
        refuse(exc)


def refuse(exc: ConfigurationError) -> NoReturn:
    """Print why the settings are refused (stderr) and exit 2."""
    typer.echo("网关拒绝启动 / the gateway refuses to start:", err=True)
    for problem in exc.problems:
        typer.echo(f"  - {problem}", err=True)
    typer.echo("见 / see docs/operations.md, Secrets", err=True)
    raise typer.Exit(CONFIGURATION_EXIT)


def references() -> ReferenceSource:
    """The reference data of the configured data directory (for commands without a
    database): division tables, the clock and the windows in force."""
    return ReferenceSource(get_settings().data_dir)


@contextmanager
def runtime() -> Iterator[Runtime]:
    """A runtime on the configured database, migrated to the current schema."""
    try:
        rt = Runtime.create(startup_settings())
    except ConfigurationError as exc:
        refuse(exc)
    try:
        try:
            upgrade(rt.engine, sealer=rt.sealer)
            check_keys(rt.sessions, rt.sealer, rt.time.now())
        except ConfigurationError as exc:
            refuse(exc)
        yield rt
    finally:
        rt.close()


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(exc: ExchangeError) -> NoReturn:
    """Print an error of the tree as problem JSON on stdout and exit 1."""
    print_json(problem_of(exc))
    raise typer.Exit(1)
