"""The clerk's row-level error report, written beside the input file.

One line per problem: the row number and header the clerk sees, the cell text as read, what is
wrong (Chinese), the stable rule and the standard's field it feeds. The report is the clerk's
own data, so it shows the values; nothing here logs them.

Both formats stream (csv writer; openpyxl write-only, whose rows go to a temp file), so a
200,000-issue report does not sit in memory. The report appears at its path only on
:meth:`ReportWriter.close`: CSV is written to ``<name>.part`` and renamed, XLSX is saved at
close. A ``with`` block left by an exception discards the report, since a half-written one
would tell the clerk the rest of the file was fine.

XLSX (the default, :func:`report_path`): every value is written as text, so an ID number stays
"430582199005010025" instead of becoming 4.30582E+17, and text starting with "=" stays text,
never a formula. CSV: UTF-8 with a BOM (Excel on Chinese Windows otherwise reads it as GBK);
values are written verbatim, so Excel will show long digit strings as numbers — the CSV is for
tools, the XLSX for people.
"""

from __future__ import annotations

import contextlib
import csv
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["HEADERS", "ReportWriter", "RowIssue", "report_path"]

HEADERS = ("行号", "列名", "填写内容", "问题说明", "规则", "对应字段")
SHEET_TITLE = "错误报告"
_WIDTHS = (8, 18, 26, 50, 16, 26)  # in characters; Chinese glyphs are about two wide
_XLSX_MAX_TEXT = 32767  # Excel's cell limit; longer text makes Excel "repair" the file


@dataclass(frozen=True, slots=True)
class RowIssue:
    row: int  # RawRow.number
    column: str  # header the clerk sees ('' for the whole row)
    value: str  # cell text as read: shown in the clerk's report, NEVER logged
    rule: str  # stable machine rule, e.g. "id_checksum"
    message: str  # Chinese (an English part after " / " is fine)
    field: str = ""  # the standard's field path it feeds, e.g. "subject.id_number"


def report_path(input_path: Path, fmt: str = "xlsx") -> Path:
    """``<stem>.错误报告.xlsx`` (or ``.csv``) beside the input."""
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"report format must be 'xlsx' or 'csv', not {fmt!r}")
    input_path = Path(input_path)
    return input_path.with_name(f"{input_path.stem}.错误报告.{fmt}")


class ReportWriter:
    """Streams RowIssues to ``path``; the format comes from its suffix (.csv or .xlsx)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._closed = False
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            self._part = self.path.with_name(self.path.name + ".part")
            # utf-8-sig writes the BOM; newline="" lets the csv module own line endings.
            self._file: IO[str] | None = self._part.open("w", encoding="utf-8-sig", newline="")
            self._csv: Any = csv.writer(self._file)
            self._csv.writerow(HEADERS)
            self._workbook: Any = None
        elif suffix == ".xlsx":
            self._file = None
            self._open_xlsx()
        else:
            raise ValueError(f"report must be .csv or .xlsx, not {suffix or '(none)'!r}")

    def _open_xlsx(self) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self._illegal = ILLEGAL_CHARACTERS_RE
        self._cell = WriteOnlyCell
        self._workbook = Workbook(write_only=True)
        ws = self._ws = self._workbook.create_sheet(SHEET_TITLE)
        # Write-only sheets take column widths and panes only before the first row.
        for index, width in enumerate(_WIDTHS, 1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for title in HEADERS:
            cell = WriteOnlyCell(ws, title)
            cell.font = bold
            header.append(cell)
        ws.append(header)

    def _text_cell(self, text: str) -> Any:
        """A cell that Excel shows as exactly this text: never a number, never a formula."""
        if self._illegal.search(text):
            # Control characters from a CSV would make openpyxl refuse the whole report.
            text = self._illegal.sub("\ufffd", text)
        if len(text) > _XLSX_MAX_TEXT:
            text = text[: _XLSX_MAX_TEXT - 1] + "…"
        if not text.startswith("="):
            return text  # openpyxl stores str as an inline string: stays text
        cell = self._cell(self._ws, text)
        cell.data_type = "s"  # openpyxl would otherwise write "=..." as a formula
        return cell

    def add(self, issue: RowIssue) -> None:
        if self._closed:
            raise ValueError("report is closed")
        if self._workbook is None:
            self._csv.writerow(
                (issue.row, issue.column, issue.value, issue.message, issue.rule, issue.field)
            )
        else:
            text = self._text_cell
            self._ws.append(
                (
                    issue.row,
                    text(issue.column),
                    text(issue.value),
                    text(issue.message),
                    text(issue.rule),
                    text(issue.field),
                )
            )
        self.count += 1

    def close(self) -> None:
        """Finish the report and put it at ``path`` (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._workbook is None:
            assert self._file is not None
            self._file.close()
            os.replace(self._part, self.path)
        else:
            # A filter on the header lets the clerk pick one column's or one rule's problems.
            self._ws.auto_filter.ref = f"A1:F{self.count + 1}"
            self._workbook.save(self.path)

    def discard(self) -> None:
        """Abandon the report: nothing is left at ``path`` or beside it."""
        if self._closed:
            return
        self._closed = True
        if self._workbook is None:
            assert self._file is not None
            self._file.close()
            with contextlib.suppress(FileNotFoundError):
                self._part.unlink()
        else:
            # openpyxl removes a write-only sheet's temp file only when saving (or at exit).
            with contextlib.suppress(Exception):
                self._ws.close()
                self._ws._writer.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
