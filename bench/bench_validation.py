"""Validation throughput of the full envelope against orjson.loads of the same bytes.

    python -m bench.bench_validation [--seconds 3]

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

from message_schemas.validate import validate_message

EXAMPLES = Path(__file__).resolve().parent.parent / "message_schemas" / "examples" / "v1"


def _rate(fn: Callable[[bytes], object], corpus: list[bytes], seconds: float) -> float:
    """Messages per second, best of several rounds of about seconds/5 each."""
    best = 0.0
    for _ in range(5):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 5
        while time.perf_counter() < deadline:
            for raw in corpus:
                fn(raw)
            count += len(corpus)
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    corpus = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.json"))] * 8
    for raw in corpus:  # warm caches (registry, catalogue) outside the timed loops
        validate_message(raw)
    baseline = _rate(orjson.loads, corpus, args.seconds)
    gateway = _rate(validate_message, corpus, args.seconds)
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
