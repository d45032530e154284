"""Streaming readers for county exports: encodings, header detection, row numbers, XLSX cell
text, memory. Synthetic people only (tests/synthetic.py)."""

from __future__ import annotations

import csv
import os
import re
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook

from adapters import readers
from adapters.readers import (
    RawRow,
    ReaderError,
    iter_mappings,
    open_records,
    sniff_encoding,
)
from message_schemas.idnumber import IdNumberError, parse_id_number
from tests.synthetic import FAKE_NAMES, make_id

ID_A = make_id("430582", date(1990, 5, 1), 2)
ID_B = make_id("110105", date(1988, 12, 31), 4)
HEADER = ["姓名", "身份证号", "现居住地址", "登记日期"]
ROW_A = [FAKE_NAMES[0], ID_A, "湖南省邵阳市邵东市宋家塘街道", "2026-03-02"]
ROW_B = [FAKE_NAMES[1], ID_B, "北京市朝阳区呼家楼街道", "2026-03-03"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delim: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delim).writerows(rows)
    return path


def read_all(path: Path, **kwargs: object) -> tuple[list[str], list[RawRow], str | None]:
    with open_records(path, **kwargs) as reader:  # type: ignore[arg-type]
        return reader.headers, list(reader), reader.encoding


# --- encodings ---------------------------------------------------------------------------------


def test_sniff_encoding_rules() -> None:
    text = "姓名,身份证号\n李试英,".encode()
    assert sniff_encoding(b"\xef\xbb\xbf" + text) == "utf-8-sig"
    assert sniff_encoding(text) == "utf-8"
    assert sniff_encoding("姓名,身份证号".encode("gb18030")) == "gb18030"
    # A sample cut inside a 3-byte character is still UTF-8 ...
    cut = "住址：湖南".encode()[:-1]
    assert sniff_encoding(cut) == "utf-8"
    # ... unless the sample is the whole file, where a dangling lead byte is not UTF-8.
    assert sniff_encoding(cut, complete=True) == "gb18030"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_reads_each_encoding(tmp_path: Path, encoding: str, expected: str) -> None:
    # 𠮷 (U+20BB7) and 䶮 (U+4DAE) are outside GBK: only a real GB18030 decode gets them back.
    rare = ["吉𠮷英", ID_A, "䶮镇幸福路1号", "2026-03-02"]
    for ch in "𠮷䶮":
        with pytest.raises(UnicodeEncodeError):
            ch.encode("gbk")
    path = write_csv(tmp_path / "x.csv", [HEADER, rare, ROW_B], encoding)
    headers, rows, detected = read_all(path)
    assert detected == expected
    assert headers == HEADER  # a BOM never sticks to the first header
    assert [r.values["姓名"] for r in rows] == ["吉𠮷英", FAKE_NAMES[1]]
    assert rows[0].values["现居住地址"] == "䶮镇幸福路1号"
    assert [r.number for r in rows] == [2, 3]


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [HEADER, ROW_A], "gb18030")
    _, rows, detected = read_all(path, encoding="GB18030")
    assert detected == "gb18030" and rows[0].values["姓名"] == ROW_A[0]
    with pytest.raises(ReaderError, match="unknown encoding"):
        open_records(path, encoding="no-such-codec")


def test_multibyte_char_cut_at_sniff_boundary(tmp_path: Path) -> None:
    head = ",".join(HEADER) + "\n"
    filler = f"{FAKE_NAMES[0]},{ID_A},"
    # Pad the address so the first byte of "镇" (3 bytes in UTF-8) is the sample's last byte.
    used = len((head + filler).encode())
    pad = "a" * (readers.SNIFF_BYTES - used - 1)
    line = f"{filler}{pad}镇,2026-03-02\n"
    data = (head + line + line).encode()
    assert data[readers.SNIFF_BYTES - 1 : readers.SNIFF_BYTES + 2] == "镇".encode()
    path = tmp_path / "cut.csv"
    path.write_bytes(data)
    _, rows, detected = read_all(path)
    assert detected == "utf-8"
    assert [r.values["现居住地址"] for r in rows] == [pad + "镇"] * 2


def test_bad_bytes_after_the_sample_name_the_line_not_the_value(tmp_path: Path) -> None:
    lines = [",".join(HEADER)] + [",".join(ROW_A)] * 2000  # well past the sniffed sample
    secret = "王模兰"
    data = ("\n".join(lines) + "\n").encode() + f"{secret},x,y,z\n".encode("gb18030")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    assert len(data) > readers.SNIFF_BYTES
    with open_records(path) as reader, pytest.raises(ReaderError) as err:
        for _ in reader:
            pass
    assert "line 2002 " in str(err.value) and secret not in str(err.value)


# --- header, rows, numbering -------------------------------------------------------------------


def test_title_row_blank_rows_and_honest_numbers(tmp_path: Path) -> None:
    rows = [
        ["流动人口育龄妇女信息表", "", "", ""],  # 1: title, one cell
        [],  # 2: blank
        HEADER,  # 3
        ROW_A,  # 4
        ["", " ", "", ""],  # 5: blank after stripping
        [],  # 6
        ROW_B,  # 7
    ]
    headers, got, _ = read_all(write_csv(tmp_path / "t.csv", rows))
    assert headers == HEADER
    assert [(r.number, r.values["姓名"]) for r in got] == [(4, ROW_A[0]), (7, ROW_B[0])]


def test_explicit_header_row(tmp_path: Path) -> None:
    rows = [["填报单位", "某县卫健局"], HEADER, ROW_A]  # 2 cells: auto-detect takes line 1
    path = write_csv(tmp_path / "h.csv", rows)
    assert read_all(path)[0] == ["填报单位", "某县卫健局"]
    headers, got, _ = read_all(path, header_row=2)
    assert headers == HEADER and [r.number for r in got] == [3]
    with pytest.raises(ReaderError, match="row 9"):
        open_records(path, header_row=9)


def test_one_column_table_uses_its_first_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", [["身份证号"], [ID_A], [ID_B]])
    headers, got, _ = read_all(path)
    assert headers == ["身份证号"] and [r.values["身份证号"] for r in got] == [ID_A, ID_B]
    assert [r.number for r in got] == [2, 3]


def test_multiline_cell_numbers_its_record_by_its_first_line(tmp_path: Path) -> None:
    multi = [FAKE_NAMES[0], ID_A, "湖南省邵阳市\n邵东市\n宋家塘街道", "2026-03-02"]
    _, got, _ = read_all(write_csv(tmp_path / "m.csv", [HEADER, multi, ROW_B]))
    assert [r.number for r in got] == [2, 5]  # ROW_B is on the 5th physical line
    assert got[0].values["现居住地址"] == "湖南省邵阳市\n邵东市\n宋家塘街道"


def test_header_normalisation_and_cell_stripping(tmp_path: Path) -> None:
    header = ["姓　名", " 身份证号（必填） ", "ＩＤ类型", "备注"]
    row = ["  李试英\u3000", ID_A, " 居民身份证 ", ""]
    headers, got, _ = read_all(write_csv(tmp_path / "n.csv", [header, row]))
    assert headers == ["姓名", "身份证号(必填)", "ID类型", "备注"]
    assert got[0].values == {
        "姓名": "李试英",
        "身份证号(必填)": ID_A,
        "ID类型": "居民身份证",
        "备注": "",
    }


def test_short_rows_padded_and_cells_without_header(tmp_path: Path) -> None:
    header = ["姓名", "", "身份证号"]  # a blank header cell in the middle
    rows = [
        header,
        ["李试英"],
        ["张样芳", "", ID_B, "", ""],
        ["刘例红", "多余", ID_A, "", "又一个"],
    ]
    headers, got, _ = read_all(write_csv(tmp_path / "w.csv", rows))
    assert headers == ["姓名", "身份证号"]
    assert got[0].values == {"姓名": "李试英", "身份证号": ""}
    assert got[1].values == {"姓名": "张样芳", "身份证号": ID_B}  # empty extras ignored
    assert got[2].values == {"姓名": "刘例红", "身份证号": ID_A, "": "多余 | 又一个"}


def test_extra_cells_beyond_a_fully_named_header(tmp_path: Path) -> None:
    rows = [HEADER, [*ROW_A, "", "超出"], [*ROW_B, "", ""]]
    _, got, _ = read_all(write_csv(tmp_path / "e.csv", rows))
    assert got[0].values[""] == "超出"
    assert "" not in got[1].values


@pytest.mark.parametrize("delim", ["\t", ";"])
def test_other_delimiters(tmp_path: Path, delim: str) -> None:
    rows = [["流动人口信息"], HEADER, ["李试英", ID_A, "某地, 某街", "2026-03-02"]]
    headers, got, _ = read_all(write_csv(tmp_path / "d.csv", rows, delim=delim))
    assert headers == HEADER and got[0].values["现居住地址"] == "某地, 某街"


def test_duplicate_headers_are_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", [["姓名", "身份证号", "姓　名"], ["李试英", ID_A, "x"]])
    with pytest.raises(ReaderError, match="姓名") as err:
        open_records(path)
    assert "duplicate" in str(err.value) and ID_A not in str(err.value)


@pytest.mark.parametrize("name", ["a.xls", "a.json", "a"])
def test_unsupported_extensions(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(ReaderError, match="unsupported file type"):
        open_records(path)


def test_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n\n")
    with pytest.raises(ReaderError, match="no header"):
        open_records(empty)
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip at all")
    with pytest.raises(ReaderError, match="XLSX"):
        open_records(fake)
    with pytest.raises(ReaderError, match="cannot open"):
        open_records(tmp_path / "missing.csv")


def test_close_releases_the_file(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    path = write_csv(tmp_path / "c.csv", [HEADER, ROW_A])
    before = len(os.listdir("/proc/self/fd"))
    reader = open_records(path)
    assert len(os.listdir("/proc/self/fd")) == before + 1
    reader.close()
    assert len(os.listdir("/proc/self/fd")) == before


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_cell_text_and_title_row(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["流动人口育龄妇女信息表"])
    ws.append([])
    ws.append(
        ["姓名", "身份证号", "子女数", "体重", "出生日期", "登记时间", "已婚", "备注", "时刻"]
    )
    ws.append(
        [
            " 李试英 ",
            ID_A,  # typed as text: exact
            2,
            52.5,
            date(1990, 5, 1),
            datetime(2026, 3, 2, 9, 30, 5),
            True,
            None,
            time(8, 15),
        ]
    )
    ws.append([])
    ws.append(["张样芳", float(ID_B), 0, 3.0, datetime(1988, 12, 31), None, False, "", None])
    path = tmp_path / "people.xlsx"
    wb.save(path)

    headers, got, encoding = read_all(path)
    assert encoding is None
    assert headers == [
        "姓名",
        "身份证号",
        "子女数",
        "体重",
        "出生日期",
        "登记时间",
        "已婚",
        "备注",
        "时刻",
    ]
    assert [r.number for r in got] == [4, 6]
    assert got[0].values == {
        "姓名": "李试英",
        "身份证号": ID_A,
        "子女数": "2",
        "体重": "52.5",
        "出生日期": "1990-05-01",
        "登记时间": "2026-03-02 09:30:05",
        "已婚": "是",
        "备注": "",
        "时刻": "08:15:00",
    }
    second = got[1].values
    assert (second["子女数"], second["体重"], second["出生日期"]) == ("0", "3", "1988-12-31")
    assert (second["登记时间"], second["已婚"]) == ("", "否")
    # An ID typed as a number: the stored float's digits (15-17 significant, like Excel's),
    # no guessing at the lost ones; the checksum then rejects it.
    typed = second["身份证号"]
    assert typed.isdigit() and len(typed) == 18 and typed[:15] == ID_B[:15] and typed != ID_B
    assert "e" not in typed.lower() and "." not in typed
    with pytest.raises(IdNumberError):
        parse_id_number(second["身份证号"])


def test_xlsx_sheet_choice(tmp_path: Path) -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "说明"
    first.append(["说明", "本表为测试数据"])
    data = wb.create_sheet("数据")
    data.append(HEADER)
    data.append(ROW_A)
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert read_all(path)[0] == ["说明", "本表为测试数据"]  # first sheet by default
    headers, got, _ = read_all(path, sheet="数据")
    assert headers == HEADER and got[0].values["身份证号"] == ID_A
    with pytest.raises(ReaderError, match="数据"):
        open_records(path, sheet="不存在")


def test_xlsx_wrong_dimension_does_not_cut_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(ROW_A)
    ws.append(ROW_B)
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "bad.xlsx"
    # Some exporters write <dimension ref="A1"/>: read-only mode would then read one cell.
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes "<dimension … />" or "…/>" depending on lxml being present
                body, replaced = re.subn(
                    rb'<dimension ref="A1:D3"\s*/>', b'<dimension ref="A1"/>', body
                )
                assert replaced == 1
            dst.writestr(item, body)
    headers, got, _ = read_all(bad)
    assert headers == HEADER and [r.values["姓名"] for r in got] == [ROW_A[0], ROW_B[0]]


# --- pushed JSON records -----------------------------------------------------------------------


def test_iter_mappings() -> None:
    records = [
        {
            "姓　名": " 李试英 ",
            "身份证号": ID_A,
            "子女数": 2,
            "体重": 3.0,
            "已婚": True,
            "备注": None,
        },
        {"姓名": "张样芳", "身份证号": ID_B, "体重": 52.5},
    ]
    got = list(iter_mappings(records, first_number=2))
    assert [r.number for r in got] == [2, 3]
    assert got[0].values == {
        "姓名": "李试英",
        "身份证号": ID_A,
        "子女数": "2",
        "体重": "3",
        "已婚": "是",
        "备注": "",
    }
    assert got[1].values == {"姓名": "张样芳", "身份证号": ID_B, "体重": "52.5"}


@pytest.mark.parametrize("nested", [{"省": "湖南"}, ["a"], ("a",)])
def test_iter_mappings_refuses_nested_values(nested: object) -> None:
    records: list[dict[str, object]] = [
        {"姓名": "李试英"},
        {"姓名": "张样芳", "现居住地址": nested},
    ]
    rows = iter_mappings(records)
    assert next(rows).number == 1
    with pytest.raises(ReaderError, match=r"record 1, key '现居住地址'"):
        next(rows)


def test_iter_mappings_refuses_keys_equal_after_normalisation() -> None:
    with pytest.raises(ReaderError, match="record 0"):
        list(iter_mappings([{"姓名": "a", "姓　名": "b"}]))


# --- streaming: memory stays per-row -----------------------------------------------------------

BIG_ROWS = 50_000
WIDE_HEADER = [
    "姓名", "性别", "身份证号", "出生日期", "民族", "户籍地址", "现居住地址", "联系电话",
    "婚姻状况", "初婚日期", "子女数", "避孕措施", "登记日期", "工作单位", "备注",
]  # fmt: skip


def wide_rows(n: int) -> Iterator[list[object]]:
    for i in range(n):
        born = date(1980 + i % 25, 1 + i % 12, 1 + i % 28)
        yield [
            FAKE_NAMES[i % len(FAKE_NAMES)],
            "女",
            make_id("430582", born, 2 * (i % 400) + 2),
            born,
            "汉族",
            f"湖南省邵阳市邵东市宋家塘街道第{i % 97}居委会{i}号",
            f"北京市朝阳区呼家楼街道东{i % 50}巷{i % 300}号",
            f"138{i:08d}",
            "已婚",
            date(2008 + i % 10, 5, 1),
            i % 3,
            "宫内节育器",
            datetime(2026, 3, 2),
            "某某制衣有限公司",
            "",
        ]


def _as_text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def peak_while_iterating(path: Path, warm_up: Path) -> tuple[int, int]:
    """Traced peak while iterating ``path``; ``warm_up`` (same format, tiny) is read first so
    that imports done on first use are not counted."""
    with open_records(warm_up) as reader:
        list(reader)
    tracemalloc.start()
    try:
        with open_records(path) as reader:
            # Opening is left out: openpyxl scans a sheet without a <dimension> element (as
            # its own write-only mode makes) once at load, transiently, before any row.
            tracemalloc.reset_peak()
            count = 0
            for row in reader:
                count += 1
                assert row.values["身份证号"]
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def test_big_csv_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gb18030", newline="") as f:
        out = csv.writer(f)
        out.writerow(WIDE_HEADER)
        out.writerows([_as_text(v) for v in row] for row in wide_rows(BIG_ROWS))
    size = path.stat().st_size  # the decoded text alone would take at least this
    count, peak = peak_while_iterating(path, write_csv(tmp_path / "w.csv", [HEADER, ROW_A]))
    assert count == BIG_ROWS
    assert size > 10_000_000 and peak < 1_000_000, (size, peak)


@pytest.mark.slow
def test_big_xlsx_streams(tmp_path: Path) -> None:
    # Four columns, not fifteen: openpyxl is slow under tracemalloc, and width does not
    # change whether rows are kept. openpyxl writes inline strings, so there is no
    # shared-strings table (which read-only mode does hold, once per distinct text).
    path = tmp_path / "big.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append(["姓名", "身份证号", "出生日期", "子女数"])
    for row in wide_rows(BIG_ROWS):
        ws.append([row[0], row[2], row[3], row[10]])
    wb.save(path)
    with zipfile.ZipFile(path) as z:  # the sheet's XML: what a non-streaming parse holds
        xml_size = z.getinfo("xl/worksheets/sheet1.xml").file_size
    small = Workbook()
    sheet = small.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(ROW_A)
    small.save(tmp_path / "w.xlsx")
    count, peak = peak_while_iterating(path, tmp_path / "w.xlsx")
    assert count == BIG_ROWS
    # openpyxl's parser clears each <row> but leaves its empty shell attached to <sheetData>
    # (110–170 bytes a row, measured); holding the rows themselves (a RawRow with its dict of
    # four texts) would take over 500 bytes a row, several times the XML.
    assert xml_size > 10_000_000 and peak < xml_size and peak < 250 * BIG_ROWS, (
        xml_size,
        peak,
    )
