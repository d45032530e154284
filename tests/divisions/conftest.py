"""Division tests: the suite-wide fixture gives each test its own empty GATEWAY_DATA_DIR.

Registries for data dirs without operator files are shared (load_registry is memoised by the
files present), so most tests reuse one build.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.divisions.address import AddressParser, parser_for
from gateway.divisions.registry import DivisionRegistry, load_registry


@pytest.fixture
def registry() -> DivisionRegistry:
    return load_registry()


@pytest.fixture
def parser(registry: DivisionRegistry) -> AddressParser:
    return parser_for(registry)


WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write an operator file under tmp_path: write_csv("v.csv", text, encoding="gb18030")."""

    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write
