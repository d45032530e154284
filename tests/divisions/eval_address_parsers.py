"""Compare the gateway's address parser with cpca-new on the same corpus (ADR 0003).

Run from the repository root:

    .venv/bin/python tests/divisions/eval_address_parsers.py ours --dump /tmp/corpus.json
    CPCA_PYTHON -m pip install cpca-new pandas pyahocorasick   # a separate venv
    CPCA_PYTHON tests/divisions/eval_address_parsers.py cpca /tmp/corpus.json

The cpca mode imports nothing from the gateway, so it runs in a venv holding only cpca-new.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _score(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    n = len(rows)
    county_ok = sum(1 for r in rows if r["got_county"] == r["county"])
    # Abstaining is right where the corpus expects no answer (an ambiguous name).
    abstain = sum(1 for r in rows if r["got_county"] is None and r["county"] is not None)
    with_township = [r for r in rows if r.get("township")]
    full = [r for r in rows if r.get("county_in_full")]
    township_ok = sum(1 for r in with_township if r.get("got_township") == r["township"])
    return {
        "cases": n,
        "county_accuracy": round(county_ok / n, 4),
        "county_wrong": round((n - county_ok - abstain) / n, 4),
        "county_abstained": round(abstain / n, 4),
        "township_accuracy": round(township_ok / len(with_township), 4) if with_township else None,
        "county_accuracy_full_names": round(
            sum(1 for r in full if r["got_county"] == r["county"]) / len(full), 4
        )
        if full
        else None,
        "microseconds_per_address": round(seconds / n * 1e6, 1),
    }


def run_ours(dump: str | None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from address_corpus import HAND_WRITTEN, build_corpus

    from gateway.divisions.address import parse_address
    from gateway.divisions.registry import load_registry

    names = load_registry()
    corpus: list[dict[str, Any]] = [
        {
            "text": c.text,
            "county": c.county,
            "township": c.township,
            # The county (or city standing in for one) is written out in full.
            "county_in_full": names.name_of(c.county) in c.text,
        }
        for c in build_corpus()
    ]
    hand: list[dict[str, Any]] = [
        {"text": t, "county": k, "township": w} for t, k, w in HAND_WRITTEN
    ]
    if dump:
        Path(dump).write_text(
            json.dumps({"corpus": corpus, "hand": hand}, ensure_ascii=False), encoding="utf-8"
        )
    started = time.perf_counter()
    parse_address("预热", names)  # build the index outside the timing
    build = time.perf_counter() - started
    for rows in (corpus, hand):
        started = time.perf_counter()
        for r in rows:
            m = parse_address(r["text"], names)
            r["got_county"], r["got_township"] = m.county_code, m.township_code
        elapsed = time.perf_counter() - started
        print(json.dumps(_score(rows, elapsed), ensure_ascii=False))
    print(json.dumps({"index_build_seconds": round(build, 3)}))
    for r in corpus + hand:
        if r["got_county"] != r["county"]:
            print("MISS", r["text"], r["county"], r["got_county"], file=sys.stderr)


def run_cpca(path: str) -> None:
    started = time.perf_counter()
    import cpca_new  # type: ignore[import-not-found]  # only in the comparison venv

    cpca_new.transform(["预热"])  # pandas is imported on first use: keep it out of the timing
    load = time.perf_counter() - started
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for rows in (data["corpus"], data["hand"]):
        started = time.perf_counter()
        frame = cpca_new.transform([r["text"] for r in rows])
        elapsed = time.perf_counter() - started
        for r, adcode in zip(rows, frame["adcode"], strict=True):
            code = adcode[:6] if isinstance(adcode, str) and adcode else None  # NaN: none
            # cpca reports a city when it finds no county: that is no county answer.
            county_level = code and (not code.endswith("00") or code == r["county"])
            r["got_county"] = code if county_level else None
        print(json.dumps(_score(rows, elapsed), ensure_ascii=False))
    print(json.dumps({"import_seconds": round(load, 3)}))
    for r in data["corpus"] + data["hand"]:
        if r["got_county"] != r["county"]:
            print("MISS", r["text"], r["county"], r["got_county"], file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "ours":
        run_ours(sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--dump" else None)
    else:
        run_cpca(sys.argv[2])
