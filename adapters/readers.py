"""Streaming readers for county record exports (CSV / XLSX with Chinese headers).

Every reader yields :class:`RawRow` objects one at a time; nothing holds the whole file, so a
200,000-row export costs the memory of one row (XLSX: plus openpyxl's shared-strings table,
which Excel-written files keep once per distinct text; openpyxl-written files use inline
strings). openpyxl also scans a sheet that lacks a ``<dimension>`` element once while opening
it (transiently, ~100 bytes a row; Excel always writes one). Readers are single-pass streams:
iterate once, then close (or use ``with``).

Decisions the converter and the clerk's report rely on:

* Row numbers are the ones the clerk sees: header line 1 (if it is the first line), first
  data row 2. XLSX: the worksheet row. CSV: the physical line on which the record starts, so
  a quoted cell spanning several lines gives the record its first line's number and the next
  record a number past all of them. Blank rows (every cell empty after stripping) are skipped
  but still counted.
* Header row: ``header_row`` (1-based, as above) if given; otherwise the first row with at
  least two non-empty cells, so a title line such as "流动人口育龄妇女信息表" in A1 is skipped.
  If none of the first ``_TITLE_LINES + 1`` non-blank rows has two cells (a one-column
  table), the first non-blank row is the header.
* Header names: U+3000 (full-width space) and BOMs removed, NFKC-normalised (full-width
  letters, digits and brackets become ASCII), stripped. Duplicates after normalisation are a
  :class:`ReaderError`.
* Cell text: stripped; '' for an empty or missing cell. No NFKC on values: a full-width digit
  in an ID number is the converter's business (it can say so to the clerk).
* Cells with no header (beyond the header's last column, or under a blank header cell): empty
  ones are ignored (Excel often carries formatted but empty columns); non-empty ones are
  joined with " | " under the key ``""`` so the converter can report "data in a column
  without a header" for the whole row instead of the data vanishing silently.
* XLSX values become the text the clerk typed, deterministically: str as is; int → digits;
  integral float → its exact integer digits (``str(int(v))``); other floats → 15 significant
  digits (what Excel shows); date, or datetime at midnight → ``YYYY-MM-DD``; other datetimes →
  ``YYYY-MM-DD HH:MM:SS``; time → ``HH:MM:SS``; bool → 是/否; None → ''. Formulas give their
  cached value ('' when the file was never calculated). An 18-digit ID number typed into a
  number cell is stored by Excel as a float with 15 significant digits (e.g.
  4.30582199005010e+17): its digits are already lost, so we do not guess — the integer digits
  of that float come through and the converter rejects them by checksum.
* CSV encoding: :func:`sniff_encoding` on the first 64 KiB unless ``encoding`` is given. A
  decoding error further down raises :class:`ReaderError` with the line number.
* CSV delimiter: whichever of ``,`` ``\\t`` ``;`` occurs most often in the first few lines of the
  sample (ties and none → ``,``). Counting is deterministic where ``csv.Sniffer`` guesses.

:class:`ReaderError` messages are Chinese, then " / " and English, and never hold a cell value
(header names, row numbers, sheet names and encodings only), so they are safe to log.
"""

from __future__ import annotations

import codecs
import csv
import unicodedata
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from adapters.errors import AdapterError

__all__ = [
    "RawRow",
    "ReaderError",
    "RecordReader",
    "iter_mappings",
    "open_records",
    "sniff_encoding",
]

SNIFF_BYTES = 64 * 1024
_TITLE_LINES = 10  # one-cell rows tolerated above a header before "one-column table" is assumed
_DELIMITERS = (",", "\t", ";")
_CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_UNNAMED = ""  # key for non-empty cells that have no header
_UNNAMED_JOIN = " | "


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # row number the clerk sees (header line 1, first data row 2)
    values: dict[str, str]  # normalised header -> stripped cell text ('' when empty/missing)


class ReaderError(AdapterError):
    """The file cannot be read as a table. Chinese then English; never holds a cell value."""

    kind = "invalid"
    title = "Records cannot be read / 记录无法读取"
    slug = "records-unreadable"


class RecordReader(ABC):
    """A single-pass stream of rows from one export; close it (or use ``with``)."""

    format: str  # "csv" | "xlsx"
    encoding: str | None  # CSV: the encoding used; XLSX: None
    headers: list[str]  # normalised, in file order (blank header cells left out)

    @abstractmethod
    def __iter__(self) -> Iterator[RawRow]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- normalisation and cell text -------------------------------------------------------------


def normalize_header(name: str) -> str:
    """Header key: U+3000 and BOM removed (NFKC would turn U+3000 into an inner ASCII space),
    NFKC, stripped."""
    return unicodedata.normalize("NFKC", name.replace("\u3000", "").replace("\ufeff", "")).strip()


def _float_text(value: float) -> str:
    if value.is_integer():
        # Exact digits of the stored float; for an ID typed as a number these are already
        # wrong past the 15th digit, and the checksum will say so (see module docstring).
        return str(int(value))
    return f"{value:.15g}"


def _other_text(value: object) -> str:
    """Text of a non-str, non-None cell value (the rare path; str/None are inlined)."""
    if isinstance(value, bool):  # before int: bool is an int
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, datetime):  # before date: datetime is a date
        if value.time() == time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    return str(value).strip()  # Decimal, timedelta, error codes: their plain text


def cell_text(value: object) -> str:
    """What the clerk sees in a cell, as text (see the module docstring for each type)."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    return _other_text(value)


# --- encoding and delimiter ------------------------------------------------------------------


def sniff_encoding(head: bytes, *, complete: bool = False) -> str:
    """``utf-8-sig`` with a BOM; ``utf-8`` if ``head`` decodes; else ``gb18030``.

    ``head`` is normally a sample cut from a longer file, so a multi-byte character split at
    its end is not held against UTF-8 (``complete=True``: ``head`` is the whole file).
    GB18030 is the superset of GB2312/GBK that Chinese government systems export.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:_TITLE_LINES] if line.strip()][:5]
    text = "\n".join(lines)
    counts = [(text.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","


# --- the shared table logic ------------------------------------------------------------------

_Cells = list[str]
_NumberedCells = tuple[int, _Cells]


def _find_header(
    rows: Iterator[_NumberedCells], header_row: int | None
) -> tuple[_NumberedCells, list[_NumberedCells]]:
    """The header row and any data rows read past it while looking."""
    if header_row is not None:
        if header_row < 1:
            raise ReaderError(f"表头行号须从1起 / header_row must be 1 or more, got {header_row}")
        for number, cells in rows:
            if number < header_row:
                continue
            if number == header_row and any(cells):
                return (number, cells), []
            break
        raise ReaderError(
            f"第{header_row}行为空、不存在或不是一条记录的开头，不能作表头"
            f" / row {header_row} is blank, missing or inside a record: it cannot be the header"
        )
    seen: list[_NumberedCells] = []
    for number, cells in rows:
        filled = sum(1 for c in cells if c)
        if not filled:
            continue
        if filled >= 2:
            return (number, cells), []  # one-cell rows above were titles
        seen.append((number, cells))
        if len(seen) > _TITLE_LINES:
            break
    if not seen:
        raise ReaderError("文件中没有表头行（文件为空） / no header row: the file is empty")
    return seen[0], seen[1:]  # one-column table: its first row is the header


def _row_builder(
    header_cells: Sequence[str],
) -> tuple[list[str], Callable[[_Cells], dict[str, str]]]:
    """Normalise the header once and return (headers, cells -> values) for the hot loop."""
    names = [normalize_header(c) for c in header_cells]
    positions: dict[str, int] = {}
    for column, name in enumerate(names, 1):
        if not name:
            continue
        if name in positions:
            raise ReaderError(
                f"表头“{name}”重复（第{positions[name]}列和第{column}列）"
                f" / duplicate header {name!r} (columns {positions[name]} and {column})"
            )
        positions[name] = column
    headers = list(positions)
    width = len(names)
    named = [i for i, name in enumerate(names) if name]
    unnamed = [i for i, name in enumerate(names) if not name]
    padding = [""] * width

    def extras(cells: _Cells) -> str:
        found = [cells[i] for i in unnamed if cells[i]]
        found.extend(c for c in cells[width:] if c)
        return _UNNAMED_JOIN.join(found)

    if not unnamed:
        # The common shape: every column named. zip/dict run in C.
        def build(cells: _Cells) -> dict[str, str]:
            n = len(cells)
            if n < width:
                cells = cells + padding[n:]
            values = dict(zip(headers, cells, strict=False))
            if n > width and any(cells[width:]):
                values[_UNNAMED] = extras(cells)
            return values

        return headers, build

    def build_sparse(cells: _Cells) -> dict[str, str]:
        if len(cells) < width:
            cells = cells + padding[len(cells) :]
        values = dict(zip(headers, [cells[i] for i in named], strict=True))
        extra = extras(cells)
        if extra:
            values[_UNNAMED] = extra
        return values

    return headers, build_sparse


class _TableReader(RecordReader):
    """Header detection and row building over a source of (row number, stripped cells)."""

    def __init__(self, rows: Iterator[_NumberedCells], header_row: int | None) -> None:
        self._rows = rows
        (_, header_cells), self._pending = _find_header(rows, header_row)
        self.headers, self._build = _row_builder(header_cells)

    def __iter__(self) -> Iterator[RawRow]:
        build = self._build
        pending, self._pending = self._pending, []
        for number, cells in pending:
            yield RawRow(number, build(cells))
        for number, cells in self._rows:
            if any(cells):  # blank rows skipped; numbers stay those of the file
                yield RawRow(number, build(cells))


# --- CSV -------------------------------------------------------------------------------------


def _undecodable_line(path: Path, encoding: str) -> int | None:
    """The physical line holding the first undecodable byte (error path only).

    The text layer decodes 8 KiB chunks ahead of the csv module, so the record being read
    when the error surfaces can be dozens of lines early; the clerk needs the exact line.
    b"\\n" is never inside a UTF-8 or GB18030 multi-byte character, so lines can be split
    on bytes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as raw:
        for number, line in enumerate(raw, 1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return number
    return None


class _CsvReader(_TableReader):
    format = "csv"

    def __init__(self, path: Path, encoding: str | None, header_row: int | None) -> None:
        try:
            with path.open("rb") as raw:
                head = raw.read(SNIFF_BYTES + 1)
        except OSError as exc:
            raise ReaderError(f"无法打开文件 / cannot open the file: {exc.strerror}") from None
        complete = len(head) <= SNIFF_BYTES
        head = head[:SNIFF_BYTES]
        if encoding is None:
            encoding = sniff_encoding(head, complete=complete)
        else:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise ReaderError(
                    f"不认识的字符编码“{encoding}” / unknown encoding {encoding!r}"
                ) from None
        self.encoding = self._encoding = encoding
        self._path = path
        sample = head.decode(encoding, errors="ignore")  # only to count delimiters
        self._file: IO[str] = path.open(encoding=encoding, newline="")
        try:
            super().__init__(self._numbered(_sniff_delimiter(sample)), header_row)
        except BaseException:
            self._file.close()
            raise

    def _numbered(self, delimiter: str) -> Iterator[_NumberedCells]:
        encoding = self._encoding
        reader = csv.reader(self._file, delimiter=delimiter)
        number = 1  # first physical line of the next record
        try:
            for row in reader:
                yield number, list(map(str.strip, row))
                number = reader.line_num + 1
        except UnicodeDecodeError:
            line = _undecodable_line(self._path, encoding) or number
            raise ReaderError(
                f"第{line}行的内容不是{encoding}编码，请另存为UTF-8后重试"
                f" / line {line} cannot be decoded as {encoding};"
                " save the file as UTF-8 and retry"
            ) from None  # the exception holds raw bytes of the file: keep them out of logs
        except csv.Error as exc:
            raise ReaderError(
                f"第{number}行附近CSV格式有误 / malformed CSV near line {number}: {exc}"
            ) from None

    def close(self) -> None:
        self._file.close()


# --- XLSX ------------------------------------------------------------------------------------


class _XlsxReader(_TableReader):
    format = "xlsx"
    encoding = None

    def __init__(self, path: Path, sheet: str | None, header_row: int | None) -> None:
        from openpyxl import load_workbook  # import cost only for XLSX users

        try:
            with warnings.catch_warnings():
                # Unsupported extensions, missing default styles and the like: about how the
                # workbook looks, not its values, and noise on the clerk's console.
                warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl\.")
                self._workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile/XML/KeyError variants: all mean "not a workbook"
            raise ReaderError(
                "无法作为XLSX工作簿打开（.xls等旧格式请在Excel中另存为.xlsx）"
                " / cannot open as an XLSX workbook (save .xls files as .xlsx):"
                f" {type(exc).__name__}"
            ) from None
        try:
            if sheet is None:
                if not self._workbook.worksheets:
                    raise ReaderError("工作簿中没有工作表 / the workbook has no worksheet")
                ws: Any = self._workbook.worksheets[0]
            elif sheet in self._workbook.sheetnames:
                ws = self._workbook[sheet]
            else:
                names = "、".join(self._workbook.sheetnames)
                raise ReaderError(
                    f"没有名为“{sheet}”的工作表（现有：{names}）"
                    f" / no worksheet named {sheet!r} (there are: {names})"
                )
            # Exporters often write a wrong <dimension> (e.g. "A1"), which would silently cut
            # the rows short; read whatever the sheet actually holds instead.
            ws.reset_dimensions()
            super().__init__(self._numbered(ws), header_row)
        except BaseException:
            self._workbook.close()
            raise

    @staticmethod
    def _numbered(ws: Any) -> Iterator[_NumberedCells]:
        # Missing rows come back as empty tuples, so enumerate gives the sheet's row numbers.
        for number, row in enumerate(ws.iter_rows(values_only=True), 1):
            yield (
                number,
                ["" if v is None else v.strip() if type(v) is str else _other_text(v) for v in row],
            )

    def close(self) -> None:
        self._workbook.close()


# --- entry points ----------------------------------------------------------------------------


def open_records(
    path: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
) -> RecordReader:
    """Open a county export for streaming; the format comes from the file's suffix.

    ``encoding`` (CSV only) overrides detection; ``sheet`` (XLSX only) names the worksheet,
    default the first; ``header_row`` (1-based) overrides header auto-detection.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return _CsvReader(path, encoding, header_row)
    if suffix in _XLSX_SUFFIXES:
        try:
            path.stat()
        except OSError as exc:
            raise ReaderError(f"无法打开文件 / cannot open the file: {exc.strerror}") from None
        return _XlsxReader(path, sheet, header_row)
    hint = "；.xls请在Excel中另存为.xlsx" if suffix == ".xls" else ""
    raise ReaderError(
        f"不支持的文件类型“{suffix or '无扩展名'}”，请提供.csv或.xlsx{hint}"
        f" / unsupported file type {suffix or '(none)'!r}: use .csv or .xlsx"
    )


def iter_mappings(
    records: Iterable[Mapping[str, object]], *, first_number: int = 1
) -> Iterator[RawRow]:
    """RawRows from records pushed as JSON objects: record i gets number ``first_number + i``.

    Keys are normalised like headers, values converted like XLSX cells (numbers → text).
    Nested objects/arrays, non-text keys and keys equal after normalisation → ReaderError
    naming the record index (0-based, as in the JSON array) and the key.
    """
    key_cache: dict[str, str] = {}  # the same few keys repeat on every record
    for index, record in enumerate(records):
        values: dict[str, str] = {}
        for key, value in record.items():
            name = key_cache.get(key)
            if name is None:
                if not isinstance(key, str):
                    raise ReaderError(
                        f"第{index}条记录的键不是文本 / record {index}: keys must be strings"
                    )
                name = key_cache[key] = normalize_header(key)
            if name in values:
                raise ReaderError(
                    f"第{index}条记录的键“{key}”与另一个键重复 / record {index}: key {key!r}"
                    f" duplicates another key after normalisation"
                )
            if value is None:
                values[name] = ""
            elif type(value) is str:
                values[name] = value.strip()
            elif isinstance(value, Mapping | list | tuple | set):
                raise ReaderError(
                    f"第{index}条记录的“{key}”不能是嵌套的对象或数组"
                    f" / record {index}, key {key!r}: nested objects/arrays are not allowed"
                )
            else:
                values[name] = _other_text(value)
        yield RawRow(first_number + index, values)
