#!/usr/bin/env bash
# Install the gateway with its test tools into .venv and run every check:
# ruff (lint + format), mypy --strict, and the whole pytest suite.
# Usage: ./ops/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy gateway message_schemas adapters bench
echo "== pytest"
# two processes (pytest-xdist); pass -n 0 to run in one (docs/testing.md)
.venv/bin/python -m pytest -n 2 "$@"
