"""Synthetic county exports in the ``floating_women`` layout, for demos, tests and benchmarks.

Every person is made up: names from a short list of common characters, ID numbers built for
real county prefixes with a valid GB 11643 check character, household codes under real
townships with village numbers in the villagers' committee range. Deterministic per seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

from message_schemas.idnumber import check_char

HEADERS: tuple[str, ...] = (
    "序号",
    "姓名",
    "公民身份号码",
    "婚姻状况",
    "户籍地址",
    "户籍地区划代码",
    "现居住地址",
    "现居住地区划代码",
    "通报事项",
    "事件日期",
    "子女出生日期",
    "子女性别",
    "孩次",
    "手术类别",
    "施术机构",
    "怀孕情况",
    "孕周",
    "查验类别",
    "查验结果",
    "下次应检日期",
    "证件类别",
    "证件状况",
    "应落实措施",
    "避孕措施",
    "存疑事项",
    "情况说明",
    "填报日期",
    "备注",
)
# origin: 湖南省邵东市 townships; residence: 广东省东莞市 streets
HUKOU_TOWNSHIPS = (
    ("430582001", "湖南省邵阳市邵东市两市塘街道"),
    ("430582002", "湖南省邵阳市邵东市宋家塘街道"),
    ("430582101", "湖南省邵阳市邵东市牛马司镇"),
    ("430582102", "湖南省邵阳市邵东市廉桥镇"),
)
RESIDENCE = (
    ("441900003", "广东省东莞市东城街道"),
    ("441900004", "广东省东莞市南城街道"),
    ("441900005", "广东省东莞市万江街道"),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "秀英丽娟芳敏静红霞燕玲桂兰梅凤春花艳萍"
CATEGORIES = (
    "生育",
    "计划生育手术",
    "怀孕",
    "孕环情检查",
    "未持证",
    "应落实未落实长效措施",
    "状况存疑",
)


def id_number(prefix6: str, born: date, seq: int) -> str:
    """A woman's ID number (even sequence digit) with a valid check character."""
    body = f"{prefix6}{born:%Y%m%d}{seq % 500 * 2:03d}"
    return body + check_char(body)


def _row(rng: random.Random, n: int, today: date) -> dict[str, str]:
    # a distinct (birth date, sequence) pair per row up to 4 million rows: made-up people
    # do not collide into the same ID number
    born = date(1980, 1, 1) + timedelta(days=n * 7919 % 8030)
    hukou_code, hukou_place = HUKOU_TOWNSHIPS[n % len(HUKOU_TOWNSHIPS)]
    res_code, res_place = RESIDENCE[n % len(RESIDENCE)]
    village = 200 + n % 150
    event = today - timedelta(days=1 + rng.randrange(0, 20))
    category = CATEGORIES[n % len(CATEGORIES)]
    row = dict.fromkeys(HEADERS, "")
    row.update(
        {
            "序号": str(n),
            "姓名": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, 2)),
            "公民身份号码": id_number("430582", born, n // 8030 + 1),
            "婚姻状况": rng.choice(("初婚", "再婚", "21")),
            "户籍地址": f"{hukou_place}第{village - 199}村民委员会",
            "户籍地区划代码": f"{hukou_code}{village:03d}",
            "现居住地址": f"{res_place}某某社区{n % 90 + 1}号",
            "现居住地区划代码": f"{res_code}{n % 50 + 1:03d}",
            "通报事项": category,
            "事件日期": event.isoformat(),
            "填报日期": today.isoformat(),
        }
    )
    if category == "生育":
        row.update({"子女出生日期": event.isoformat(), "子女性别": rng.choice("男女"), "孩次": "1"})
    elif category == "计划生育手术":
        row.update({"手术类别": "上环", "施术机构": "东莞市妇幼保健院"})
    elif category == "怀孕":
        row.update({"怀孕情况": "已办理生育登记", "孕周": str(8 + n % 20)})
    elif category == "孕环情检查":
        row.update(
            {
                "查验类别": "环孕检",
                "查验结果": "未孕",
                "下次应检日期": (event + timedelta(days=90)).isoformat(),
                "施术机构": "东城街道计生服务站",
            }
        )
    elif category == "未持证":
        row.update({"证件类别": "流动人口婚育证明", "证件状况": "未办理"})
    elif category == "应落实未落实长效措施":
        row.update({"应落实措施": "上环", "避孕措施": "避孕套"})
    else:
        row.update({"存疑事项": "婚姻、生育", "情况说明": "本人自述与登记信息不一致"})
    return row


def sample_rows(
    count: int, *, seed: int = 7, today: date | None = None
) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)  # noqa: S311  # made-up test data, not secrets
    day = today or date(2026, 11, 20)
    for n in range(1, count + 1):
        yield _row(rng, n, day)


def write_csv(
    path: Path, rows: Sequence[dict[str, str]] | Iterator[dict[str, str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.DictWriter(out, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(
    path: Path,
    rows: Sequence[dict[str, str]] | Iterator[dict[str, str]],
    title: str | None = "流动人口育龄妇女信息表",
) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("育龄妇女")
    if title:
        sheet.append([title])
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append([row[h] for h in HEADERS])
    book.save(path)
    return path
