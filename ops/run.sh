#!/usr/bin/env bash
# Install the gateway into .venv and run its main job on the embedded default
# (no configuration: data under ./gateway-data). Usage: ./ops/run.sh [gateway args]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
if [ "$#" -eq 0 ]; then
    set -- demo
fi
exec .venv/bin/gateway "$@"
