"""Name forms of divisions: the stem left after the administrative suffix.

Used twice: to recognise a retired county's successor (邵东县 → 邵东市 share the stem 邵东)
and to match the short forms people write in addresses (湖南 for 湖南省, 邵东 for 邵东市).
"""

from __future__ import annotations

from typing import Final

# The 55 recognised minorities as they appear in autonomous-area names (…族自治县).
ETHNIC_GROUPS: Final[tuple[str, ...]] = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
    "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡",
    "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬",
    "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安",
    "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip
# Longest first so 土家族 is stripped before 土族 could be considered.
_ETHNIC_SUFFIXES: Final[tuple[str, ...]] = tuple(
    sorted((g + "族" for g in ETHNIC_GROUPS), key=len, reverse=True)
)

PROVINCE_SUFFIXES: Final[tuple[str, ...]] = ("特别行政区", "自治区", "省", "市")
CITY_SUFFIXES: Final[tuple[str, ...]] = ("自治州", "地区", "盟", "市")
COUNTY_SUFFIXES: Final[tuple[str, ...]] = (
    "自治县", "自治旗", "特区", "林区", "新区", "县", "市", "区", "旗",
)  # fmt: skip
TOWNSHIP_SUFFIXES: Final[tuple[str, ...]] = (
    "民族乡", "民族苏木", "街道办事处", "街道", "苏木", "区公所", "镇", "乡",
)  # fmt: skip

# Stems that name no place (市辖区 → 市辖, 城区 → 城): never used to link or match.
GENERIC_STEMS: Final[frozenset[str]] = frozenset(
    {"市辖", "城", "郊", "矿", "市", "县", "新", "东", "西", "南", "北", "中", "开发", "高新"}
)


def _strip_ethnic(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _ETHNIC_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                changed = True
                break
    return name


def stem(name: str, suffixes: tuple[str, ...]) -> str:
    """Strip one administrative suffix and any ethnic names before an 自治 suffix.

    湘西土家族苗族自治州 → 湘西; 广西壮族自治区 → 广西; 邵东市 → 邵东; 沙县区 → 沙县.
    Returns the name unchanged when no suffix applies or nothing would be left.
    """
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            return _strip_ethnic(base) if suffix.startswith("自治") else base
    return name


def county_stems(name: str) -> frozenset[str]:
    """All stems of a county name, for linking renamed counties (沙县区 → {沙县, 沙})."""
    out = {name}
    current = name
    for _ in range(2):
        nxt = stem(current, COUNTY_SUFFIXES)
        if nxt == current:
            break
        out.add(nxt)
        current = nxt
    return frozenset(s for s in out if s != name and s not in GENERIC_STEMS)
