"""Successors of retired codes: derived from the history, overridden by curated files.

Derivation is conservative: within each tier below it links only when exactly one current
code qualifies, and stops (no successor) when several do (merged, split: do not guess).
"Area" is the prefecture (first 4 digits), or the whole municipality for 北京/天津/上海/重庆,
whose 县 group codes (1102xx …) were folded into the district group.

1. same area, same name stem, current name (邵东县 → 邵东市, 沙县 → 沙县区);
2. same province, same stem of two or more characters, or the identical full name
   (密云县 110228 → 密云区 110118; 和县 moved from 巢湖 to 马鞍山);
3. same area, a one-character stem X renamed X州 (滦县 → 滦州市, 横县 → 横州市);
4. same area, a one-character stem X renamed to a two-character stem starting with X
   (郫县 → 郫都区);
5. same area, a current code that carried the stem under an earlier name still valid when the
   retired code ended (铁法区 → 调兵山市, once 铁法市);
6. a county-level city named like its prefecture (铁岭市 212101, the city proper) → that city;
7. a 市辖区 grouping code (xxxx01) → its city (xxxx00).

A county-level 市 never links to a current 县/旗 (铁岭市 is not 铁岭县). Retired city codes
link to the one current city of the same province with the same stem (邯郸地区 → 邯郸市).
Curated rows (shipped ``successors.csv``, then the operator's file) add or override links; an
empty ``new_code`` says "no successor", cancelling a derivation. Chains are followed to a
current code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from gateway.divisions.names import CITY_SUFFIXES, GENERIC_STEMS, county_stems, stem
from gateway.divisions.sources import HistoryEntry, Node
from message_schemas.codes import structural_level

DERIVED_STEM = "derived:name-stem"
DERIVED_RENAME = "derived:renamed-stem"
DERIVED_EARLIER = "derived:earlier-name"
DERIVED_CITY = "derived:city-proper"
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
OPEN_END = 10_000  # a name still valid in the history sorts after every real year
_MAX_CHAIN = 32


@dataclass(frozen=True, slots=True)
class SuccessorRow:
    old_code: str
    new_code: str  # "" = explicitly no successor
    source: str


@dataclass(frozen=True, slots=True)
class Retired:
    name: str
    end_year: int  # OPEN_END when the history did not know it ended


def area(code: str) -> str:
    return code[:2] if code[:2] in MUNICIPALITIES else code[:4]


@dataclass(frozen=True, slots=True)
class _Candidate:
    code: str
    name: str


class _Index:
    """Current county-level names by stem, and earlier names of current codes by stem."""

    def __init__(
        self, nodes: Mapping[str, Node], history: Mapping[str, tuple[HistoryEntry, ...]]
    ) -> None:
        self.by_stem: dict[str, list[_Candidate]] = defaultdict(list)
        self.by_name: dict[str, list[_Candidate]] = defaultdict(list)
        self.by_first: dict[str, list[_Candidate]] = defaultdict(list)  # two-character stems
        self.by_old_stem: dict[str, list[tuple[_Candidate, int]]] = defaultdict(list)
        self.cities: dict[tuple[str, str], list[str]] = defaultdict(list)
        for node in nodes.values():
            if node.level == "county":
                cand = _Candidate(node.code, node.name)
                self.by_name[node.name].append(cand)
                for s in county_stems(node.name):
                    self.by_stem[s].append(cand)
                    if len(s) == 2:
                        self.by_first[s[0]].append(cand)
            elif node.level == "city":
                self.cities[(node.code[:2], stem(node.name, CITY_SUFFIXES))].append(node.code)
        for code, entries in history.items():
            current = nodes.get(code)
            if current is None or current.level != "county":
                continue
            for entry in entries:
                if entry.name != current.name:
                    for s in county_stems(entry.name):
                        self.by_old_stem[s].append(
                            (_Candidate(code, current.name), entry.end_year or OPEN_END)
                        )


def _allowed(retired_name: str, candidate_name: str) -> bool:
    # A county-level city is never downgraded to a county; same-named 县 are neighbours.
    return not (retired_name.endswith("市") and candidate_name[-1] in "县旗")


def _county_tiers(
    code: str, info: Retired, index: _Index
) -> Iterable[tuple[str, Callable[[], Iterable[_Candidate]]]]:
    stems = county_stems(info.name)
    here, prov = area(code), code[:2]
    singles = [s for s in stems if len(s) == 1]

    def same_area_stem() -> Iterable[_Candidate]:
        return (c for s in stems for c in index.by_stem.get(s, ()) if area(c.code) == here)

    def same_province() -> Iterable[_Candidate]:
        yield from (
            c for s in stems if len(s) >= 2 for c in index.by_stem.get(s, ()) if c.code[:2] == prov
        )
        yield from (c for c in index.by_name.get(info.name, ()) if c.code[:2] == prov)

    def renamed_zhou() -> Iterable[_Candidate]:
        return (c for s in singles for c in index.by_stem.get(s + "州", ()) if area(c.code) == here)

    def renamed_prefix() -> Iterable[_Candidate]:
        return (c for s in singles for c in index.by_first.get(s, ()) if area(c.code) == here)

    def earlier_name() -> Iterable[_Candidate]:
        return (
            c
            for s in stems
            for c, end in index.by_old_stem.get(s, ())
            if area(c.code) == here and end >= info.end_year
        )

    yield DERIVED_STEM, same_area_stem
    yield DERIVED_STEM, same_province
    yield DERIVED_RENAME, renamed_zhou
    yield DERIVED_RENAME, renamed_prefix
    yield DERIVED_EARLIER, earlier_name


def _derive_county(
    code: str, info: Retired, index: _Index, current: Collection[str]
) -> tuple[str, str] | None:
    if county_stems(info.name):
        for source, tier in _county_tiers(code, info, index):
            found = {c.code for c in tier() if _allowed(info.name, c.name)}
            if len(found) > 1:
                return None
            if found:
                return found.pop(), source
    if info.name == "市辖区" and code.endswith("01") and code[:4] + "00" in current:
        return code[:4] + "00", DERIVED_CITY
    if info.name.endswith("市"):
        cities = index.cities.get((code[:2], info.name[:-1]), [])
        if len(cities) == 1:
            return cities[0], DERIVED_CITY
    return None


def _derive_city(code: str, info: Retired, index: _Index) -> tuple[str, str] | None:
    s = stem(info.name, CITY_SUFFIXES)
    if s == info.name or s in GENERIC_STEMS or len(s) < 2:
        return None
    found = index.cities.get((code[:2], s), [])
    return (found[0], DERIVED_STEM) if len(found) == 1 else None


def derive(
    nodes: Mapping[str, Node],
    history: Mapping[str, tuple[HistoryEntry, ...]],
    retired: Mapping[str, Retired],
) -> dict[str, tuple[str, str]]:
    """Retired 6-digit code → (current successor, source) where the names say so."""
    index = _Index(nodes, history)
    out: dict[str, tuple[str, str]] = {}
    for code, info in retired.items():
        level = structural_level(code)
        found: tuple[str, str] | None = None
        if level == "county":
            found = _derive_county(code, info, index, nodes)
        elif level == "city":
            found = _derive_city(code, info, index)
        if found is not None:
            out[code] = found
    return out


def merge_edges(
    derived: Mapping[str, tuple[str, str]], *overrides: Iterable[SuccessorRow]
) -> tuple[dict[str, str], dict[str, str]]:
    """Direct edges (old → new, "" = none) and their sources; later overrides win."""
    edges = {old: new for old, (new, _) in derived.items()}
    sources = {old: source for old, (_, source) in derived.items()}
    for rows in overrides:
        for row in rows:
            edges[row.old_code] = row.new_code
            sources[row.old_code] = row.source
    return edges, sources


def resolve(edges: Mapping[str, str], is_current: Callable[[str], bool]) -> dict[str, str]:
    """Follow each edge to a current code; drop chains that end nowhere or loop."""
    out: dict[str, str] = {}
    for start in edges:
        code = start
        for _ in range(_MAX_CHAIN):
            nxt = edges.get(code)
            if not nxt:
                break
            code = nxt
            if is_current(code):
                out[start] = code
                break
    return out
