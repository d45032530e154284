"""The clerk's error report: CSV with a BOM, XLSX with text cells, streamed, put in place on
close only. Synthetic values only."""

from __future__ import annotations

import csv
import tracemalloc
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from adapters.report import HEADERS, ReportWriter, RowIssue, report_path
from tests.synthetic import FAKE_NAMES, make_id

ID_A = make_id("430582", date(1990, 5, 1), 2)
ISSUES = [
    RowIssue(2, "身份证号", ID_A, "id_checksum", "校验码错误 / bad check", "subject.id_number"),
    RowIssue(3, "现居住地址", "某地, \"某街\"\n2号", "address_unresolved", "地址无法定位到区县"),
    RowIssue(4, "备注", "=1+1", "required", "不能为空", "body.note"),
    RowIssue(5, "", "", "unnamed_column", "本行有数据位于无表头的列"),
    RowIssue(6, "姓名", FAKE_NAMES[2], "unknown_label", "不是可用填法", "subject.name"),
]  # fmt: skip


def expected_rows() -> list[list[str]]:
    return [[str(i.row), i.column, i.value, i.message, i.rule, i.field] for i in ISSUES]


def test_report_path_sits_beside_the_input(tmp_path: Path) -> None:
    source = tmp_path / "2026年3月 流动人口.xlsx"
    assert report_path(source) == tmp_path / "2026年3月 流动人口.错误报告.xlsx"
    assert report_path(source, "csv") == tmp_path / "2026年3月 流动人口.错误报告.csv"
    with pytest.raises(ValueError, match="xlsx"):
        report_path(source, "txt")


def test_csv_report_has_a_bom_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    with ReportWriter(path) as report:
        for issue in ISSUES:
            report.add(issue)
        assert report.count == len(ISSUES)
        assert not path.exists()  # appears only when complete
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == HEADERS
    assert rows[1:] == expected_rows()
    assert list(tmp_path.iterdir()) == [path]  # no .part left behind


def test_xlsx_report_round_trips_as_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    with ReportWriter(path) as report:
        for issue in ISSUES:
            report.add(issue)
    wb = load_workbook(path)
    ws = wb.active
    assert ws is not None
    assert ws.title == "错误报告"
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert tuple(rows[0]) == HEADERS
    got = [[str(v) if v is not None else "" for v in row] for row in rows[1:]]
    assert got == expected_rows()
    assert [row[0] for row in rows[1:]] == [i.row for i in ISSUES]  # numbers, to sort by
    id_cell = ws["C2"]
    assert id_cell.value == ID_A and id_cell.data_type == "s"  # never 4.30582E+17
    assert ws["C4"].value == "=1+1" and ws["C4"].data_type == "s"  # text, not a formula
    assert all(ws.cell(1, col).font.b for col in range(1, 7))
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["D"].width >= 40
    assert ws.auto_filter.ref == f"A1:F{len(ISSUES) + 1}"


def test_xlsx_report_survives_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    with ReportWriter(path) as report:
        report.add(RowIssue(2, "姓名", "李\x07试英", "name_format", "含控制字符"))
    ws = load_workbook(path).active
    assert ws is not None
    assert ws["C2"].value == "李\ufffd试英"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_failed_run_leaves_no_report(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"r{suffix}"

    def crash() -> None:
        with ReportWriter(path) as report:
            report.add(ISSUES[0])
            raise RuntimeError("conversion crashed")

    with pytest.raises(RuntimeError):
        crash()
    assert list(tmp_path.iterdir()) == []


def test_unknown_report_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.csv or \.xlsx"):
        ReportWriter(tmp_path / "r.txt")


def test_many_issues_stream(tmp_path: Path) -> None:
    path = tmp_path / "many.xlsx"
    issue = ISSUES[0]
    tracemalloc.start()
    try:
        with ReportWriter(path) as report:
            tracemalloc.reset_peak()
            for n in range(10_000):
                report.add(RowIssue(n + 2, issue.column, issue.value, issue.rule, issue.message))
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept in memory, 10,000 rows of six cells would take several MB.
    assert peak < 1_000_000, peak
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/worksheets/sheet1.xml").count(b"<row ") == 10_001
