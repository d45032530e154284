"""Pure structure of division codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from message_schemas.codes import (
    ancestors,
    city_of,
    is_code_format,
    province_of,
    structural_level,
    village_kind,
)


@pytest.mark.parametrize("code", ["430582", "441900003", "441900003005"])
def test_valid_formats(code: str) -> None:
    assert is_code_format(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "43058",
        "4305820",
        "43058200",
        "4305820012011",
        "43058a",
        "４３０５８２",
        "430 58",
        "٤٣٠٥٨٢",
    ],
)
def test_invalid_formats(code: str) -> None:
    assert not is_code_format(code)


def test_province_and_city_of_a_code() -> None:
    assert province_of("430582001201") == "430000"
    assert city_of("430582001201") == "430500"


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("430000", "province"),
        ("430500", "city"),
        ("430582", "county"),
        ("430582001", "township"),
        ("430582001201", "village"),
    ],
)
def test_structural_level(code: str, level: str) -> None:
    assert structural_level(code) == level


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ("001", "residents_committee"),
        ("199", "residents_committee"),
        ("200", "villagers_committee"),
        ("399", "villagers_committee"),
        ("000", None),
        ("400", None),
        ("999", None),
    ],
)
def test_village_ranges(part: str, kind: str | None) -> None:
    assert village_kind(part) == kind


def test_ancestors_skip_duplicates() -> None:
    assert ancestors("441900003") == ("440000", "441900")
    assert ancestors("430582001201") == ("430000", "430500", "430582", "430582001")
    assert ancestors("430000") == ()


@given(st.integers(min_value=0, max_value=999))
def test_village_kind_matches_the_numeric_ranges(n: int) -> None:
    kind = village_kind(f"{n:03d}")
    assert (kind == "residents_committee") == (1 <= n <= 199)
    assert (kind == "villagers_committee") == (200 <= n <= 399)
