"""Free-text address → county (and township) code with a confidence.

Matching runs against the registry's current table. Every substring of the (NFKC-normalised,
whitespace-free) text that equals a known name is a *mention*: full names of provinces,
cities, counties and townships; short forms (湖南 for 湖南省, 邵东 for 邵东市, 两市塘 for
两市塘街道); and the last names of retired counties/cities that have a successor (邵东县).
Each county or township mention anchors a *chain*: the anchor's own ancestors, looked for as
mentions before it in order (province, city, county, township). The chain with the most
levels and the most matched characters wins; a chain whose province or city is contradicted
by a full-name mention before it is dropped (the hierarchy must hold). When the best chains
name different counties (朝阳区 alone: Beijing or 长春), nothing is picked: ``code`` is None,
``ambiguous`` is true and the counties are listed in ``candidates``.

Confidence (0..1) starts at 1 and loses 0.15 without a province, 0.10 without a city where
the county has one, 0.20 when only a township names the county, 0.10 for a county short
form, 0.15 for a retired name, 0.10 when a county name shared by several counties was settled
by the township alone, 0.10 per contradicting short-form mention; a matched township adds 0.05.
So province + city + county agreeing scores ≥ 0.9. No county-level match: code None, 0.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Final

from gateway.divisions.names import (
    CITY_SUFFIXES,
    COUNTY_SUFFIXES,
    GENERIC_STEMS,
    PROVINCE_SUFFIXES,
    TOWNSHIP_SUFFIXES,
    county_stems,
    stem,
)
from gateway.divisions.registry import DivisionRegistry
from gateway.divisions.sources import Node

PROVINCE, CITY, COUNTY, TOWNSHIP = 0, 1, 2, 3
_RANK: Final[dict[str, int]] = {"province": PROVINCE, "city": CITY, "county": COUNTY}
_LEVEL_WEIGHT: Final[dict[int, int]] = {PROVINCE: 1, CITY: 1, COUNTY: 2, TOWNSHIP: 1}


@dataclass(frozen=True, slots=True)
class AddressMatch:
    code: str | None  # deepest county-level-or-below match; None when none or ambiguous
    level: str | None  # "county" | "township" | "city" (a city without counties, 东莞)
    confidence: float
    province_code: str | None = None
    province_name: str | None = None
    city_code: str | None = None
    city_name: str | None = None
    county_code: str | None = None
    county_name: str | None = None
    township_code: str | None = None
    township_name: str | None = None
    ambiguous: bool = False
    candidates: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidates"] = list(self.candidates)
        return out


NO_MATCH: Final = AddressMatch(code=None, level=None, confidence=0.0)
# How surely an address must name its county to route or convert by it (docs/divisions.md):
# the one threshold of the gateway's routing and the adapters' default; a profile may raise it.
CONFIDENCE_MIN: Final = 0.8


@dataclass(frozen=True, slots=True)
class _Alias:
    code: str
    rank: int
    short: bool = False
    historical: bool = False


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    text: str
    alias: _Alias

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Chain:
    score: int
    county: str
    anchor: _Mention
    province: _Mention | None
    city: _Mention | None
    county_mention: _Mention | None
    short_conflicts: int


class AddressParser:
    """Name index over one registry; ``parse`` is pure and thread-safe."""

    def __init__(self, registry: DivisionRegistry) -> None:
        self._nodes: Mapping[str, Node] = registry.nodes
        aliases: dict[str, list[_Alias]] = defaultdict(list)
        # Township short forms are looked up only under the county already matched.
        self._township_shorts: dict[str, dict[str, str]] = defaultdict(dict)
        # Cities whose children are townships (东莞, 中山, 儋州, 嘉峪关) stand in for a county.
        self._county_cities = frozenset(
            n.parent
            for n in self._nodes.values()
            if n.level == "township" and self._nodes[n.parent].level == "city"
        )
        # County short forms never take a province's name (河北区 → 河北) nor a city's name in
        # the same province (长沙县 → 长沙 belongs to 长沙市).
        upper_names: dict[str, set[str]] = defaultdict(set)  # province prefix → city aliases
        province_names: set[str] = set()
        for node in self._nodes.values():
            if node.level in ("province", "city"):
                suffixes = PROVINCE_SUFFIXES if node.level == "province" else CITY_SUFFIXES
                self._add(aliases, node.name, node.code, _RANK[node.level], suffixes)
                names = {node.name, stem(node.name, suffixes)}
                upper_names[node.code[:2]].update(names)
                if node.level == "province":
                    province_names.update(names)
        for node in self._nodes.values():
            if node.level == "county":
                self._add(
                    aliases, node.name, node.code, COUNTY, COUNTY_SUFFIXES,
                    exclude=upper_names[node.code[:2]] | province_names,
                )  # fmt: skip
            elif node.level == "township":
                # Full names only: two-character township stems (东城, 大兴) occur everywhere.
                aliases[node.name].append(_Alias(node.code, TOWNSHIP))
                short = stem(node.name, TOWNSHIP_SUFFIXES)
                if short != node.name and len(short) >= 2:
                    self._township_shorts[node.parent][short] = node.code
        self._add_former(aliases, registry)
        self._aliases: dict[str, tuple[_Alias, ...]] = {k: tuple(v) for k, v in aliases.items()}
        self._township_short_sizes = tuple(
            sorted({len(k) for d in self._township_shorts.values() for k in d}, reverse=True)
        )
        lengths: dict[str, set[int]] = defaultdict(set)
        for name in self._aliases:
            lengths[name[0]].add(len(name))
        self._lengths = {ch: tuple(sorted(ls, reverse=True)) for ch, ls in lengths.items()}
        # How many counties a county alias names nationally (ambiguity of the name alone).
        self._county_alias_spread = {
            name: len({a.code for a in found if a.rank == COUNTY})
            for name, found in self._aliases.items()
        }

    @staticmethod
    def _add(
        aliases: dict[str, list[_Alias]],
        name: str,
        code: str,
        rank: int,
        suffixes: tuple[str, ...],
        exclude: Collection[str] = (),
    ) -> None:
        aliases[name].append(_Alias(code, rank))
        short = stem(name, suffixes)
        # exclude: 长沙县 must not take 长沙 from 长沙市.
        if (
            short != name
            and len(short) >= 2
            and short not in GENERIC_STEMS
            and short not in exclude
        ):
            aliases[short].append(_Alias(code, rank, short=True))

    def _add_former(self, aliases: dict[str, list[_Alias]], registry: DivisionRegistry) -> None:
        """Old names still written on household registers: 邵东县, 襄樊市, 襄阳区."""
        former: list[tuple[str, str]] = [
            (registry.retired_names.get(old, ""), new)
            for old, new in registry.successors.items()
            if len(old) == 6
        ]
        former += [(name, code) for code, names in registry.former_names.items() for name in names]
        for name, code in former:
            node = self._nodes.get(code)
            if not name or name in aliases or node is None or node.level not in _RANK:
                continue
            if node.level == "county" or code in self._county_cities:
                if county_stems(name) and name[-1] in "县市区旗":
                    aliases[name].append(_Alias(code, COUNTY, historical=True))
            elif (
                node.level == "city"
                and stem(name, CITY_SUFFIXES) not in GENERIC_STEMS
                and name[-1] in "市区盟州"
            ):
                aliases[name].append(_Alias(code, CITY, historical=True))

    # --- matching ------------------------------------------------------------------------

    def _mentions(self, text: str) -> list[_Mention]:
        """Every name in the text, minus fragments of a longer name (河北 inside 河北省,
        东城 inside 东城街道): the longest reading wins."""
        spans: list[tuple[int, int, str]] = []
        aliases, lengths = self._aliases, self._lengths
        for i, ch in enumerate(text):
            for size in lengths.get(ch, ()):
                part = text[i : i + size]
                if part in aliases:
                    spans.append((i, i + size, part))
        kept = [
            (a, b, part)
            for a, b, part in spans
            if not any(c <= a and b <= d and d - c > b - a for c, d, _ in spans)
        ]
        return [_Mention(a, b, part, alias) for a, b, part in kept for alias in aliases[part]]

    def _county_of(self, alias: _Alias) -> str | None:
        if alias.rank == COUNTY:
            return alias.code
        if alias.rank == CITY:
            return alias.code if alias.code in self._county_cities else None
        if alias.rank == TOWNSHIP:
            return self._nodes[alias.code].parent
        return None

    def _city_of(self, county: str) -> str | None:
        node = self._nodes.get(county)
        if node is None:
            return None
        if node.level == "city":
            return county
        parent = self._nodes.get(node.parent)
        return parent.code if parent is not None and parent.level == "city" else None

    def _chain(
        self, anchor: _Mention, by_code: Mapping[str, list[_Mention]], uppers: list[_Mention]
    ) -> _Chain | None:
        county = self._county_of(anchor.alias)
        if county is None:
            return None
        city = self._city_of(county)
        province = county[:2] + "0000"
        pos = anchor.start
        county_m = None
        if anchor.alias.rank == TOWNSHIP:
            county_m = _before(by_code.get(county, ()), pos)
            if county_m is not None:
                pos = county_m.start
        city_m = None
        if city is not None and city != county:
            city_m = _before(by_code.get(city, ()), pos)
            if city_m is not None:
                pos = city_m.start
        prov_m = _before(by_code.get(province, ()), pos)
        used = [m for m in (anchor, county_m, city_m, prov_m) if m is not None]
        short_conflicts = 0
        for m in uppers:
            if m.start >= anchor.start or any(_overlap(m, u) for u in used):
                continue
            if m.alias.code in (province, city, county):
                continue
            if not m.alias.short and not m.alias.historical:
                return None  # contradicted by a full upper-level name
            short_conflicts += 1
        levels = sum(_LEVEL_WEIGHT[m.alias.rank] for m in used)
        if county in self._county_cities and (anchor.alias.rank == CITY or county_m is not None):
            # A city standing in for a county (东莞) counts one more level, not two: a chain
            # through a real county below the same city (大兴安岭地区 → 呼玛县) must win.
            levels += 1
        chars = sum(m.length for m in used)
        shorts = sum(1 for m in used if m.alias.short or m.alias.historical)
        score = 10 * levels + chars - 2 * shorts - 5 * short_conflicts
        return _Chain(score, county, anchor, prov_m, city_m, county_m, short_conflicts)

    def parse(self, text: str) -> AddressMatch:
        clean = "".join(unicodedata.normalize("NFKC", text).split())
        mentions = self._mentions(clean)
        by_code: dict[str, list[_Mention]] = defaultdict(list)
        for m in mentions:
            by_code[m.alias.code].append(m)
        uppers = [m for m in mentions if m.alias.rank in (PROVINCE, CITY)]
        chains = [
            c
            for m in mentions
            if m.alias.rank != PROVINCE and (c := self._chain(m, by_code, uppers)) is not None
        ]
        if not chains:
            return self._upper_only(uppers)
        best = max(c.score for c in chains)
        top = [c for c in chains if c.score == best]
        counties = sorted({c.county for c in top})
        if len(counties) > 1:
            return self._ambiguous(counties)
        chain = top[0]
        township = chain.anchor.alias.code if chain.anchor.alias.rank == TOWNSHIP else None
        if township is None:
            township = self._township_short(clean, chain.county, chain.anchor.end)
        return self._result(chain, township)

    def _township_short(self, text: str, county: str, start: int) -> str | None:
        """A township of the matched county named by its short form after the county."""
        shorts = self._township_shorts.get(county)
        if not shorts:
            return None
        for i in range(start, len(text) - 1):
            for size in self._township_short_sizes:
                found = shorts.get(text[i : i + size])
                if found is not None:
                    return found
        return None

    # --- results -------------------------------------------------------------------------

    def _name(self, code: str | None) -> str | None:
        return self._nodes[code].name if code is not None else None

    def _result(self, chain: _Chain, township: str | None) -> AddressMatch:
        anchor = chain.anchor.alias
        county = chain.county
        city = self._city_of(county)
        county_alias = chain.county_mention.alias if chain.county_mention else anchor
        confidence = 1.0
        if chain.province is None:
            confidence -= 0.15
        if city is not None and city != county and chain.city is None:
            confidence -= 0.10
        if anchor.rank == TOWNSHIP and chain.county_mention is None:
            confidence -= 0.20
        elif county_alias.historical:
            confidence -= 0.15
        elif county_alias.short:
            confidence -= 0.10
        county_mention = chain.county_mention or chain.anchor
        spread = self._county_alias_spread.get(county_mention.text, 1)
        if spread > 1 and chain.province is None and chain.city is None:
            confidence -= 0.10
        confidence -= 0.10 * chain.short_conflicts
        if township is not None:
            confidence += 0.05
        confidence = round(min(1.0, max(0.05, confidence)), 2)
        level = "township" if township else ("city" if county == city else "county")
        return AddressMatch(
            code=township or county,
            level=level,
            confidence=confidence,
            province_code=county[:2] + "0000",
            province_name=self._name(county[:2] + "0000"),
            city_code=city,
            city_name=self._name(city),
            county_code=county,
            county_name=self._name(county),
            township_code=township,
            township_name=self._name(township),
        )

    def _ambiguous(self, counties: list[str]) -> AddressMatch:
        provinces = {c[:2] + "0000" for c in counties}
        cities = {self._city_of(c) for c in counties}
        province = provinces.pop() if len(provinces) == 1 else None
        city = cities.pop() if len(cities) == 1 else None
        return AddressMatch(
            code=None,
            level=None,
            confidence=0.0,
            province_code=province,
            province_name=self._name(province),
            city_code=city,
            city_name=self._name(city),
            ambiguous=True,
            candidates=tuple(counties),
        )

    def _upper_only(self, uppers: list[_Mention]) -> AddressMatch:
        """No county: report the province/city named in full, if they agree, with code None."""
        full = [m for m in uppers if not m.alias.short]
        provinces = {m.alias.code for m in full if m.alias.rank == PROVINCE}
        cities = {m.alias.code for m in full if m.alias.rank == CITY}
        city = cities.pop() if len(cities) == 1 else None
        province = provinces.pop() if len(provinces) == 1 else None
        if city is not None and province is not None and city[:2] != province[:2]:
            city = None
        if city is not None and province is None:
            province = city[:2] + "0000"
        if province is None:
            return NO_MATCH
        return AddressMatch(
            code=None,
            level=None,
            confidence=0.0,
            province_code=province,
            province_name=self._name(province),
            city_code=city,
            city_name=self._name(city),
        )


def _before(candidates: Iterable[_Mention], pos: int) -> _Mention | None:
    """The mention ending at or before pos, nearest first, then longest."""
    best: _Mention | None = None
    for m in candidates:
        if m.end <= pos and (best is None or (m.end, m.length) > (best.end, best.length)):
            best = m
    return best


def _overlap(a: _Mention, b: _Mention) -> bool:
    return a.start < b.end and b.start < a.end


@lru_cache(maxsize=2)
def parser_for(registry: DivisionRegistry) -> AddressParser:
    """The parser over one registry (its index is built on first use, ~1 s)."""
    return AddressParser(registry)


def parse_address(text: str, registry: DivisionRegistry) -> AddressMatch:
    """Free text → county (and township) with a confidence, against ``registry``."""
    return parser_for(registry).parse(text)
