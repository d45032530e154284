"""Pure structure of division codes (行政区划代码, PROTOCOL §1), no tables: part of the standard.

A code is 6 digits (county tier, GB/T 2260; province ``xx0000`` and city ``xxxx00`` codes are
6-digit too), 9 digits (township/street, GB/T 10114 numbering under the county) or 12 digits
(village/community: 3 more digits under the township). The village part is structurally
001–199 for residents' committees (居委会/社区) and 200–399 for villagers' committees (村委会).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class CodeProblem:
    """Why a division code is refused: a stable rule and a message that never echoes it."""

    rule: str
    message: str


Level = Literal["province", "city", "county", "township", "village"]
VillageKind = Literal["residents_committee", "villagers_committee"]

LEVELS: Final[tuple[Level, ...]] = ("province", "city", "county", "township", "village")
CODE_LENGTHS: Final[frozenset[int]] = frozenset({6, 9, 12})

# min_level in check_code compares code lengths: a 6-digit code (county, city or province)
# satisfies "county"; nodes may sit at city or province level.
MIN_LEVEL_LENGTH: Final[dict[str, int]] = {"county": 6, "township": 9, "village": 12}

RESIDENTS_RANGE: Final[tuple[str, str]] = ("001", "199")
VILLAGERS_RANGE: Final[tuple[str, str]] = ("200", "399")


def is_code_format(code: str) -> bool:
    """6, 9 or 12 ASCII digits (str.isdigit alone accepts full-width and other digits)."""
    return len(code) in CODE_LENGTHS and code.isascii() and code.isdigit()


def province_of(code: str) -> str:
    return code[:2] + "0000"


def city_of(code: str) -> str:
    return code[:4] + "00"


def county_of(code: str) -> str:
    return code[:6]


def township_of(code: str) -> str | None:
    return code[:9] if len(code) >= 9 else None


def structural_level(code: str) -> Level:
    """Level implied by the digits alone (tables may say more, e.g. 省直辖县)."""
    if len(code) == 12:
        return "village"
    if len(code) == 9:
        return "township"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def village_kind(village_part: str) -> VillageKind | None:
    """Kind of committee by the structural ranges; None outside 001–399."""
    if RESIDENTS_RANGE[0] <= village_part <= RESIDENTS_RANGE[1]:
        return "residents_committee"
    if VILLAGERS_RANGE[0] <= village_part <= VILLAGERS_RANGE[1]:
        return "villagers_committee"
    return None


def ancestors(code: str) -> tuple[str, ...]:
    """Structural ancestor codes, outermost first (441900003 → 440000, 441900)."""
    out: list[str] = []
    for candidate in (province_of(code), city_of(code), code[:6], code[:9]):
        if candidate != code and candidate not in out:
            out.append(candidate)
    return tuple(out)


# The nation as a whole: the code of a national supervisor or administrator (never routed to).
NATIONAL = "000000"


def prefixes(code: str) -> list[str]:
    """Candidate node codes covering ``code``, most specific first."""
    out = []
    if len(code) >= 12:
        out.append(code[:12])
    if len(code) >= 9:
        out.append(code[:9])
    out.append(code[:6])
    out.append(code[:4] + "00")
    out.append(code[:2] + "0000")
    return list(dict.fromkeys(out))  # 430500 → city and county candidate coincide


def covers(parent: str, child: str) -> bool:
    """Whether a node registered for ``parent`` acts for ``child``."""
    return parent == NATIONAL or parent in prefixes(child)
