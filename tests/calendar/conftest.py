"""Calendar fixtures (the suite-wide `data_dir` fixture isolates each test's data dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def example_2027() -> Path:
    """A fictional 2027 notice (clearly marked as an example inside the file)."""
    return FIXTURES / "2027-example.toml"
