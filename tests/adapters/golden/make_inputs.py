"""Writes the golden inputs (run once; the outputs are committed and reviewed by hand):

    .venv/bin/python tests/adapters/golden/make_inputs.py

The same 27 rows in three files: UTF-8 CSV, GB18030 CSV, XLSX with a title row. Rows 2–9
(CSV numbering) are valid, one per category plus an inferred category; the rest each break one
rule. Expected messages and report: expected_messages.json, expected_report.csv.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.samples import id_number, sample_rows, write_csv, write_xlsx

HERE = Path(__file__).parent


def rows() -> list[dict[str, str]]:
    good = list(sample_rows(7, seed=11))
    inferred = dict(good[6], **{"通报事项": "", "序号": "8"})  # birth, found from 子女出生日期
    inferred["公民身份号码"] = id_number("430582", date(1991, 3, 9), 41)
    no_code = dict(good[1], **{"现居住地区划代码": "", "序号": "9"})  # derived from the address
    # an old 15-digit number (before 1999): upgraded to 18 by the standard
    no_code["公民身份号码"] = "430582850309042"
    bad: list[dict[str, str]] = []

    def variant(base: dict[str, str], **changes: str) -> None:
        bad.append(dict(base, 序号=str(10 + len(bad)), **changes))

    b = good[6]  # a birth row (the samples cycle through the categories)
    variant(b, 公民身份号码="430582199001011234")  # check character wrong
    variant(b, 姓名="")  # name missing
    variant(b, 婚姻状况="已婚")  # ambiguous local word: not guessed
    variant(b, 事件日期="2026/13/01", 子女出生日期="")  # no such date
    variant(b, 孩次="第一")  # not a number
    variant(b, 通报事项="", 子女出生日期="", 子女性别="", 孩次="")  # category cannot be found
    variant(b, 户籍地区划代码="", 户籍地址="某省某县某村")  # address names no county
    variant(b, 户籍地区划代码="")  # address only reaches the township
    variant(b, 户籍地区划代码="430582001450")  # village number outside the ranges
    variant(b, 子女性别="中")  # not a sex
    variant(b, 填报日期="2026-10-01")  # reported before the event happened
    variant(b, 事件日期="2026-11-02")  # the child's birth date differs from the event date
    s = good[5]  # a status_in_question row
    variant(s, 存疑事项="婚姻、收入")  # one item of the list is unknown
    variant(good[2], 下次应检日期="2025-01-01")  # next check before the check
    variant(  # residence not resolved: sent without its code, and flagged
        b,
        现居住地区划代码="",
        现居住地址="某处",
        公民身份号码=id_number("430582", date(1992, 8, 1), 7),
    )
    variant(good[1])  # the same person, category and event date as row 3: not sent twice
    variant(b, 户籍地区划代码="", 户籍地址="两市塘街道某村")  # confidence 0.6: not guessed
    variant(b, 户籍地区划代码="", 户籍地址="朝阳区某街道")  # two counties of that name
    return [*good, inferred, no_code, *bad]


if __name__ == "__main__":
    data = rows()
    write_csv(HERE / "export.utf8.csv", data, "utf-8")
    write_csv(HERE / "export.gb18030.csv", data, "gb18030")
    write_xlsx(HERE / "export.xlsx", data)
    print(len(data), "rows")
