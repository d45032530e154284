"""The allowed imports of docs/architecture.md, enforced with import-linter (the contracts
are in pyproject.toml): the real tree keeps them, and a tree with one arrow broken on purpose
does not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("gateway", "message_schemas", "adapters"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract() -> None:
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "message_schemas/v1/types.py",
            "import gateway.settings",
            "The standard (message_schemas) imports nothing",
        ),
        (
            "gateway/calendar/clock.py",
            "import gateway.errors",
            "The calendar and the divisions import only the standard",
        ),
        (
            "adapters/convert.py",
            "import gateway.messages.service",
            "The adapters use the standard and the foundation",
        ),
        (
            "gateway/messages/service.py",
            "import adapters.convert",
            "Services never import the edges",
        ),
    ],
)
def test_a_broken_arrow_is_caught(tmp_path: Path, module: str, line: str, contract: str) -> None:
    tree = _copy(tmp_path)
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    run = _lint(tree)
    assert run.returncode != 0, run.stdout
    assert "Broken contracts" in run.stdout, run.stdout
    assert contract in run.stdout.split("Broken contracts", 1)[1], run.stdout
