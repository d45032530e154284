"""Division tests: the suite-wide fixture gives each test its own empty GATEWAY_DATA_DIR.

Registries for data dirs without operator files are shared (keyed by the files present), so
most tests reuse one build; tests that load files reset the cache before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.divisions.address import AddressParser, parser_for
from gateway.divisions.registry import DivisionRegistry, get_registry, reset_registry_cache


@pytest.fixture
def registry() -> DivisionRegistry:
    return get_registry()


@pytest.fixture
def parser(registry: DivisionRegistry) -> AddressParser:
    return parser_for(registry)


@pytest.fixture
def data_dir(data_dir: Path) -> Iterator[Path]:
    """The suite-wide data dir, with the registry rebuilt around tests that load files."""
    reset_registry_cache()
    yield data_dir
    reset_registry_cache()


WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write an operator file under tmp_path: write_csv("v.csv", text, encoding="gb18030")."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write
