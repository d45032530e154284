"""Validation throughput of the full envelope against orjson.loads of the same bytes.

    python -m bench.bench_validation [--seconds 6]

Both loops run in this process over the same list of encoded messages (every example of the
standard, cycled); the figure that matters is the ratio, which cancels the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from gateway.divisions.registry import load_registry
from message_schemas.validate import validate_message

EXAMPLES = Path(__file__).resolve().parent.parent / "message_schemas" / "examples" / "v1"


def _round(fn: Callable[[bytes], object], corpus: list[bytes], seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for raw in corpus:
            fn(raw)
        count += len(corpus)
    return count / (time.perf_counter() - start)


REGISTRY = load_registry()  # the packaged division tables


def _validate(raw: bytes) -> object:
    return validate_message(raw, divisions=REGISTRY)


def _rates(corpus: list[bytes], seconds: float, rounds: int = 10) -> tuple[float, float]:
    """Best rate of each side over alternating short rounds, so drift in the machine's speed
    (frequency scaling, neighbours) hits both sides alike."""
    best_base = best_gateway = 0.0
    for _ in range(rounds):
        best_base = max(best_base, _round(orjson.loads, corpus, seconds / (2 * rounds)))
        best_gateway = max(best_gateway, _round(_validate, corpus, seconds / (2 * rounds)))
    return best_base, best_gateway


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    corpus = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.json"))] * 8
    for raw in corpus:  # warm caches (registry, catalogue) outside the timed loops
        _validate(raw)
    baseline, gateway = _rates(corpus, args.seconds)
    result = {
        "messages": len(corpus),
        "mean_bytes": sum(map(len, corpus)) // len(corpus),
        "orjson_loads_per_s": round(baseline),
        "validate_message_per_s": round(gateway),
        "ratio": round(gateway / baseline, 3),
        "goal": 0.10,
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
