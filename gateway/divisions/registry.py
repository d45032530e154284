"""The division registry: current table, history, successors, villages, and their look-ups.

Built by ``load_registry(directory)`` from the packaged tables plus whatever an operator loaded
into that directory (``<data_dir>/divisions/``); the service holds the registry in force and
builds a new one when the files change (gateway/reference.py). ``check_code`` sits on the
message-validation hot path: after the build it only does string slicing and dict/set
membership.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from gateway.divisions import successors as succ
from gateway.divisions import table_files
from gateway.divisions.sources import (
    CurrentTable,
    Node,
    history_source,
    load_history,
    load_packaged_table,
)
from message_schemas.codes import (
    MIN_LEVEL_LENGTH,
    CodeProblem,
    Level,
    ancestors,
    is_code_format,
    structural_level,
    village_kind,
)


@dataclass(frozen=True, slots=True)
class DivisionInfo:
    code: str
    name: str  # "" when no table names it (a village without a village table)
    level: str  # "province"|"city"|"county"|"township"|"village"
    name_path: tuple[str, ...]  # 省 → 市 → 县 → 乡 (→ 村 if known)
    status: str  # "current" | "retired"
    successor: str | None
    village_kind: str | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["name_path"] = list(self.name_path)
        return out


FORMAT: Final = CodeProblem(
    "division_format", "division code must be 6, 9 or 12 digits / 区划代码应为6、9或12位数字"
)
LEVEL: Final = CodeProblem(
    "division_level", "division code does not reach the required level / 区划代码层级不够"
)
UNKNOWN: Final = CodeProblem(
    "division_unknown", "division code not in the national tables / 区划代码不在全国区划表中"
)
VILLAGE_RANGE: Final = CodeProblem(
    "division_village_range",
    "village part must be 001–199 (居委会) or 200–399 (村委会) / 村级代码应为001–199或200–399",
)
VILLAGE_UNKNOWN: Final = CodeProblem(
    "division_village_unknown",
    "village code not in the loaded village table / 村级代码不在已加载的村级区划表中",
)

_VILLAGE_PARTS: Final = frozenset(f"{i:03d}" for i in range(1, 400))

# City-tier codes in the history that group districts rather than name a place.
_GROUPING_NAMES: Final = frozenset({"市辖区", "县", "市区", "郊区"})


@dataclass(slots=True)
class RegistryData:
    """Everything the registry holds, built by ``build_registry_data``."""

    nodes: dict[str, Node]  # current 6- and 9-digit codes
    retired: dict[str, str]  # retired code → last known name ("" if none), any length
    successors: dict[str, str]  # retired code → current code, chains resolved
    successor_sources: dict[str, str]
    edges: dict[str, str]  # direct links before chains are followed ("" = none)
    villages: dict[str, str]  # loaded 12-digit codes → name
    former_names: dict[str, tuple[str, ...]]  # current 6-digit code → its earlier names
    id_prefixes: frozenset[str]
    provenance: dict[str, Any] = field(default_factory=dict)


class DivisionRegistry:
    """Look-ups over one built RegistryData; immutable after construction."""

    def __init__(self, data: RegistryData) -> None:
        self._data = data
        self._nodes = data.nodes
        self._retired = data.retired
        self._retired_counties = frozenset(c for c in data.retired if len(c) == 6)
        self._successors = data.successors
        self._villages = data.villages
        self._village_townships = frozenset(c[:9] for c in data.villages)
        self._id_prefixes = data.id_prefixes
        # Look-up sets for check_code: valid 6-digit codes, known 9-digit townships (current
        # or retired), and current townships whose villages are checked by range alone.
        self._six = frozenset(c for c in data.nodes if len(c) == 6) | self._retired_counties
        self._townships = frozenset(c for c in data.nodes if len(c) == 9) | frozenset(
            c for c in data.retired if len(c) == 9
        )
        self._open_townships = frozenset(
            c for c in data.nodes if len(c) == 9 and c not in self._village_townships
        )

    # --- hot path ------------------------------------------------------------------------

    def check_code(self, code: str, *, min_level: str | None = None) -> CodeProblem | None:
        n = len(code)
        # Fast path: the common valid codes in one or two set look-ups. Membership in these
        # sets also proves the digits, so no isdigit() call (≈100 ns each here) is needed.
        if n == 12:  # deep enough for any min_level
            if code[:9] in self._open_townships and code[9:] in _VILLAGE_PARTS:
                return None
        elif (min_level is None or MIN_LEVEL_LENGTH.get(min_level, 99) <= n) and (
            (code in self._townships) if n == 9 else (code in self._six)
        ):
            return None
        return self._check_slow(code, min_level)

    def _check_slow(self, code: str, min_level: str | None) -> CodeProblem | None:
        n = len(code)
        if (n != 6 and n != 9 and n != 12) or not code.isascii() or not code.isdigit():
            return FORMAT
        if min_level is not None:
            if min_level not in MIN_LEVEL_LENGTH:
                raise ValueError(f"min_level must be one of {sorted(MIN_LEVEL_LENGTH)}")
            if n < MIN_LEVEL_LENGTH[min_level]:
                return LEVEL
        county = code[:6]
        if county in self._nodes:
            if n == 6:
                return None
            if code[:9] not in self._townships:
                return UNKNOWN
        elif county in self._retired_counties:
            # Retired county: deeper parts are only checked structurally.
            if n > 6 and code[6:9] == "000":
                return UNKNOWN
        else:
            return UNKNOWN
        if n == 12:
            if code in self._villages or code in self._retired:
                return None
            if code[9:] not in _VILLAGE_PARTS:
                return VILLAGE_RANGE
            if code[:9] in self._village_townships:
                return VILLAGE_UNKNOWN
        return None

    def is_known_id_prefix(self, prefix6: str) -> bool:
        return prefix6 in self._id_prefixes

    # --- look-ups ------------------------------------------------------------------------

    def is_current(self, code: str) -> bool:
        """A valid code that no table marks as retired."""
        return self.check_code(code) is None and not self._is_retired(code)

    def is_retired(self, code: str) -> bool:
        """A valid code that a table marks as retired (routing maps it to its successor)."""
        return self.check_code(code) is None and self._is_retired(code)

    def _is_retired(self, code: str) -> bool:
        return (
            code in self._retired
            or code[:6] in self._retired_counties
            or (len(code) == 12 and code[:9] in self._retired)
        )

    def successor(self, code: str) -> str | None:
        """Current code that replaced a retired one, following chains; None if not retired or
        the data does not say. Below a retired county without a finer link, the county's
        successor (the data does not say which township the area became)."""
        found = self._successors.get(code)
        if found is not None:
            return found
        if len(code) == 12 and code[:9] in self._retired:
            found = self._successors.get(code[:9])
            if found is not None:
                return found
        if len(code) > 6 and code[:6] in self._retired_counties:
            return self._successors.get(code[:6])
        return None

    def successor_source(self, code: str) -> str | None:
        for key in (code, code[:9], code[:6]):
            if key in self._data.successor_sources and key in self._successors:
                return self._data.successor_sources[key]
        return None

    def name_of(self, code: str) -> str:
        node = self._nodes.get(code)
        if node is not None:
            return node.name
        return self._villages.get(code) or self._retired.get(code, "")

    def lookup(self, code: str) -> DivisionInfo | None:
        if self.check_code(code) is not None:
            return None
        retired = self._is_retired(code)
        node = self._nodes.get(code)
        level: Level = node.level if node is not None else structural_level(code)
        kind = village_kind(code[9:]) if len(code) == 12 else None
        return DivisionInfo(
            code=code,
            name=self.name_of(code),
            level=level,
            name_path=self._name_path(code),
            status="retired" if retired else "current",
            successor=self.successor(code) if retired else None,
            village_kind=kind,
        )

    def _name_path(self, code: str) -> tuple[str, ...]:
        node = self._nodes.get(code)
        if node is not None:
            names: list[str] = []
            seen: set[str] = set()
            while node is not None and node.code not in seen:
                seen.add(node.code)
                names.append(node.name)
                node = self._nodes.get(node.parent)
            return tuple(reversed(names))
        path = self._name_path(code[:9]) if len(code) == 12 and code[:9] in self._nodes else ()
        if not path:
            path = tuple(
                name
                for a in ancestors(code)
                if (name := self.name_of(a)) and name not in _GROUPING_NAMES and "直辖" not in name
            )
        own = self.name_of(code)
        return (*path, own) if own else path

    # --- whole-table views ---------------------------------------------------------------

    @property
    def nodes(self) -> Mapping[str, Node]:
        return self._nodes

    @property
    def retired_names(self) -> Mapping[str, str]:
        return self._retired

    @property
    def successors(self) -> Mapping[str, str]:
        return self._successors

    @property
    def villages(self) -> Mapping[str, str]:
        return self._villages

    @property
    def former_names(self) -> Mapping[str, tuple[str, ...]]:
        return self._data.former_names

    @property
    def direct_edges(self) -> Mapping[str, str]:
        return self._data.edges

    def info(self) -> dict[str, Any]:
        """Provenance, counts and loaded operator files, for `gateway divisions info`."""
        return self._data.provenance


# --- building ----------------------------------------------------------------------------


def _current_table(
    packaged: CurrentTable, directory: Path | None
) -> tuple[dict[str, Node], dict[str, Any], Any]:
    """The table in force: the operator's if loaded and newer than the packaged one."""
    stored = table_files.read_stored(directory, "national")
    packaged_meta = {"source": "packaged", **packaged.metadata}
    if stored is None:
        return packaged.nodes, packaged_meta, None
    rows, meta = stored
    as_of = date.fromisoformat(str(meta.get("as_of", "1970-01-01")))
    if as_of <= date.fromisoformat(str(packaged.metadata["data_as_of"])):
        meta = {**meta, "in_force": False, "reason": "not newer than the packaged table"}
        return packaged.nodes, packaged_meta, meta
    nodes = table_files.validate_national(rows, "stored national", as_of=as_of, packaged=packaged)
    return nodes, {"source": "operator", **meta}, {**meta, "in_force": True}


def build_registry_data(directory: Path | None = None) -> RegistryData:
    """Read the packaged tables and the operator's stored files in ``directory``."""
    started = time.perf_counter()
    packaged = load_packaged_table()
    nodes, table_meta, national_file = _current_table(packaged, directory)
    history = load_history()

    retired: dict[str, str] = {}
    retired_info: dict[str, succ.Retired] = {}
    for code, entries in history.items():
        if code not in nodes:
            last = entries[-1]
            retired[code] = last.name
            retired_info[code] = succ.Retired(last.name, last.end_year or succ.OPEN_END)
    if nodes is not packaged.nodes:  # a newer national table retires packaged codes
        for code, node in packaged.nodes.items():
            if code not in nodes:
                retired[code] = node.name
                if len(code) == 6:
                    retired_info[code] = succ.Retired(node.name, succ.OPEN_END)

    shipped = [r for r in table_files.read_shipped_successors() if r.old_code not in nodes]
    stored_succ = table_files.read_stored(directory, "successors")
    operator_rows = [
        succ.SuccessorRow(
            r.values["old_code"], r.values["new_code"], "operator:" + r.values["source"]
        )
        for r in (stored_succ[0] if stored_succ else [])
        if r.values["old_code"] not in nodes
    ]
    for row in (*shipped, *operator_rows):
        retired.setdefault(row.old_code, "")

    stored_villages = table_files.read_stored(directory, "village")
    villages = {
        r.values["code"]: r.values["name"] for r in (stored_villages[0] if stored_villages else [])
    }

    derived = succ.derive(nodes, history, retired_info)
    edges, sources = succ.merge_edges(derived, shipped, operator_rows)

    def is_current(code: str) -> bool:
        if code in retired or code[:6] in retired:
            return False
        if len(code) == 12:
            return code in villages or code[:9] in nodes
        return code in nodes

    resolved = succ.resolve(edges, is_current)
    id_prefixes = frozenset(c for c in nodes if len(c) == 6) | frozenset(
        c for c in retired if len(c) == 6
    )
    data = RegistryData(
        nodes=nodes,
        retired=retired,
        successors=resolved,
        successor_sources=sources,
        edges=edges,
        villages=villages,
        former_names={
            code: names
            for code, entries in history.items()
            if code in nodes
            and (names := tuple(e.name for e in entries if e.name != nodes[code].name))
        },
        id_prefixes=id_prefixes,
    )
    data.provenance = _provenance(data, table_meta, national_file, stored_succ, stored_villages)
    data.provenance["build_seconds"] = round(time.perf_counter() - started, 3)
    return data


def _provenance(
    data: RegistryData,
    table_meta: dict[str, Any],
    national_file: Any,
    stored_succ: Any,
    stored_villages: Any,
) -> dict[str, Any]:
    levels: dict[str, int] = {}
    for node in data.nodes.values():
        levels[node.level] = levels.get(node.level, 0) + 1
    retired6 = [c for c in data.retired if len(c) == 6]
    by_source: dict[str, int] = {}
    for code in data.successors:
        kind = data.successor_sources.get(code, "").split(":", 1)[0]
        by_source[kind] = by_source.get(kind, 0) + 1
    return {
        "current_table": table_meta,
        "history": history_source(),
        "counts": {
            **levels,
            "villages": len(data.villages),
            "village_townships": len({c[:9] for c in data.villages}),
            "retired_codes": len(data.retired),
            "retired_county_level_codes": len(retired6),
            "retired_with_successor": len(data.successors),
            "retired_county_level_with_successor": sum(1 for c in retired6 if c in data.successors),
            "successors_by_source": by_source,
            "id_prefixes": len(data.id_prefixes),
        },
        "operator_files": {
            "national": national_file,
            "village": stored_villages[1] if stored_villages else None,
            "successors": stored_succ[1] if stored_succ else None,
        },
    }


def operator_files_key(directory: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Which operator files exist in ``directory``, with size and mtime: what a registry
    built from it depends on (a process compares keys to notice a newly loaded table)."""
    if directory is None:
        return ()
    key = []
    for kind in table_files.KINDS:
        path = table_files.stored_path(directory, kind)
        if path.exists():
            stat = path.stat()
            key.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(key)


@lru_cache(maxsize=4)
def _registry_for_files(
    directory: Path | None, key: tuple[tuple[str, int, int], ...]
) -> DivisionRegistry:
    # memoised by content: directories without operator files share the packaged registry
    return DivisionRegistry(build_registry_data(directory if key else None))


def load_registry(directory: Path | None = None) -> DivisionRegistry:
    """The registry from the packaged tables and the operator's files in ``directory``
    (<data_dir>/divisions; None: packaged tables only). Built once per set of files."""
    key = operator_files_key(directory)
    return _registry_for_files(directory if key else None, key)


__all__ = [
    "CodeProblem",
    "DivisionInfo",
    "DivisionRegistry",
    "RegistryData",
    "build_registry_data",
    "is_code_format",
    "load_registry",
    "operator_files_key",
]
