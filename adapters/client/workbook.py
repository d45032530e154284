"""The clerks' workbooks (工作簿): what arrived, for reading and filling in; and the receipt.

One sheet per kind of message received (通报, 查询, 协查, and 反馈与答复 for answers received —
Excel forbids "/" in sheet names). The request sheets end with the answer columns the clerks
fill; reading finds columns by their header, so clerks may reorder or add columns, and accepts
either the Chinese label or the wire code of a coded value. Written with openpyxl's write_only
mode, read with read_only (a day's inbox can be thousands of rows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from adapters.client import WorkbookError
from adapters.client.store import StoredMessage
from gateway.divisions.registry import load_registry
from message_schemas.catalog import get_catalog
from message_schemas.kinds import ANSWER_OF
from message_schemas.kinds import REPLY_TYPES as _REPLY_TYPES
from message_schemas.timezone import SHANGHAI

SHEET_OF_TYPE = {"notification": "通报", "query": "查询", "assist_request": "协查"}
TYPE_OF_SHEET = {sheet: kind for kind, sheet in SHEET_OF_TYPE.items()}
REPLY_SHEET = "反馈与答复"
REPLY_TYPES = tuple(_REPLY_TYPES)
REPLY_OF = ANSWER_OF
TYPE_LABELS = {
    "notification": "通报",
    "feedback": "反馈",
    "query": "查询",
    "query_reply": "查询答复",
    "assist_request": "协查",
    "assist_reply": "协查回执",
}

ID_COLUMN = "报文编号"
BASE_COLUMNS = (ID_COLUMN, "发送地", "接收时间", "应反馈期限")
SUBJECT_COLUMNS = (
    "姓名",
    "公民身份号码",
    "性别",
    "出生日期",
    "户籍地址",
    "户籍地区划代码",
    "现居住地址",
)
REQUEST_COLUMNS = {
    "通报": ("通报事项", "事件日期", "详情", "备注"),
    "查询": ("查询类别", "查询事项", "备注"),
    "协查": ("协查事项", "紧急程度", "协查原因", "备注"),
}

# The columns clerks fill: header → (body field, code table of its values or None).
OUTCOME = {"通报": "反馈结果", "查询": "答复结果", "协查": "协查结果"}
SOURCES = "已核查部门"
TRANSFERRED_TO = "迁入地区划代码"
CORRECTION_FIELD = "更正字段"
ORIGIN_VALUE = "户籍地记录值"
REMARKS = "说明/备注"
ANSWER_TEXT = "答复内容"
RESULT_TEXT = "办理情况"
ANSWER_COLUMNS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "通报": (
        ("反馈结果", "outcome", "feedback_outcome"),
        (SOURCES, "verified_sources", "verification_source"),
        (TRANSFERRED_TO, "transferred_to", None),
        (CORRECTION_FIELD, "corrections", None),
        (ORIGIN_VALUE, "corrections", None),
        (REMARKS, "remarks", None),
    ),
    "查询": (
        ("答复结果", "outcome", "query_outcome"),
        (SOURCES, "verified_sources", "verification_source"),
        (ANSWER_TEXT, "answer", None),
    ),
    "协查": (
        ("协查结果", "outcome", "assist_outcome"),
        (SOURCES, "verified_sources", "verification_source"),
        (RESULT_TEXT, "result", None),
    ),
}
REPLY_COLUMNS = (
    ID_COLUMN,
    "类型",
    "发送地",
    "接收时间",
    "所答复报文编号",
    "结果",
    SOURCES,
    "内容",
)
REPORT_SHEET = "回执"
REPORT_COLUMNS = ("工作表", "行号", "报文编号", "列", "问题", "规则")

# Correction fields clerks may name in Chinese (the subject's fields; detail fields come from
# the catalogue category of the notification). A field path is accepted as well.
SUBJECT_FIELD_LABELS = {
    "姓名": "subject.name",
    "公民身份号码": "subject.id_number",
    "身份证号码": "subject.id_number",
    "性别": "subject.sex",
    "出生日期": "subject.birth_date",
    "户籍地址": "subject.hukou_address",
    "户籍地区划代码": "subject.hukou_code",
    "现居住地址": "subject.residence_address",
    "现居住地区划代码": "subject.residence_code",
    "婚姻状况": "subject.marital_status",
}
SUBJECT_FIELD_TABLES = {"subject.sex": "sex", "subject.marital_status": "marital_status"}
FIELD_PATH = re.compile(r"^(subject|body\.details)\.[a-z_]+$")

_HEADER_FONT = Font(bold=True)
_ANSWER_FILL = PatternFill("solid", fgColor="FFF2CC")  # the columns to fill, in pale yellow


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One filled row: its sheet, Excel row number, request id and non-blank answer cells."""

    sheet: str
    row: int
    message_id: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One row that was not sent, or that the gateway refused (no personal data in texts)."""

    sheet: str
    row: int
    message_id: str
    column: str
    problem: str
    rule: str


# --- labels and codes -------------------------------------------------------------------------


def label_of(table: str, code: Any) -> str:
    """The Chinese label of a wire code (the code itself if the table does not know it)."""
    codes = get_catalog().tables.get(table)
    text = str(code)
    return codes.codes.get(text, text) if codes is not None else text


def labels(table: str) -> list[str]:
    return list(get_catalog().tables[table].codes.values())


def parse_code(table: str, text: str) -> str | None:
    """A clerk's entry → wire code: the Chinese label or the code itself; None if unknown."""
    return get_catalog().tables[table].code_for(text)


def correction_path(text: str, category: str | None) -> str | None:
    """更正字段: a Chinese field label (subject or the category's details) or a field path."""
    value = text.strip()
    if FIELD_PATH.match(value):
        return value
    if value in SUBJECT_FIELD_LABELS:
        return SUBJECT_FIELD_LABELS[value]
    cat = get_catalog().categories.get(category or "")
    if cat is not None:
        for spec in cat.fields:
            if value in (spec.label, spec.name):
                return f"body.details.{spec.name}"
    return None


def field_table(path: str, category: str | None) -> str | None:
    """The code table of a corrected field, to turn a Chinese origin value into its code."""
    if path in SUBJECT_FIELD_TABLES:
        return SUBJECT_FIELD_TABLES[path]
    cat = get_catalog().categories.get(category or "")
    if cat is not None and path.startswith("body.details."):
        name = path.removeprefix("body.details.")
        for spec in cat.fields:
            if spec.name == name:
                return spec.code_table
    return None


def column_for(sheet: str, field: str) -> str:
    """The workbook column a reply's field path came from ("" when it is the whole row)."""
    path = field.removeprefix("body.")
    head = path.split(".", 1)[0]
    if field == "in_reply_to":
        return ID_COLUMN
    if head == "corrections":
        if path.endswith(".origin_value"):
            return ORIGIN_VALUE
        if path.endswith(".note"):
            return REMARKS
        return CORRECTION_FIELD
    for header, body_field, _table in ANSWER_COLUMNS.get(sheet, ()):
        if head == body_field:
            return header
    return ""


# --- writing the inbox workbook ------------------------------------------------------------


def _division(code: str | None) -> str:
    if not code:
        return ""
    info = load_registry().lookup(code)  # the packaged tables: a county keeps no others
    name = "".join(info.name_path) if info is not None else ""
    return f"{code} {name}".strip()


def _moment(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _deadline(msg: StoredMessage) -> str:
    if msg.due_at is None:
        return ""
    text = msg.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    return f"{text}（暂定）" if msg.due_provisional else text


def _value_label(value: Any, table: str | None) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value_label(v, table) for v in value)
    if table is not None:
        return label_of(table, value)
    return str(value)


def render_details(category: str, details: Mapping[str, Any]) -> str:
    """Details as Chinese "标签: 值" pairs, in the catalogue's field order."""
    cat = get_catalog().categories.get(category)
    specs = {f.name: f for f in cat.fields} if cat is not None else {}
    order = [name for name in specs if name in details] + [n for n in details if n not in specs]
    parts = []
    for name in order:
        spec = specs.get(name)
        label = spec.label if spec is not None and spec.label else name
        parts.append(f"{label}: {_value_label(details[name], spec.code_table if spec else None)}")
    return "；".join(parts)


def _subject_cells(subject: Mapping[str, Any]) -> list[str]:
    return [
        str(subject.get("name") or ""),
        str(subject.get("id_number") or ""),
        label_of("sex", subject["sex"]) if subject.get("sex") else "",
        str(subject.get("birth_date") or ""),
        str(subject.get("hukou_address") or ""),
        str(subject.get("hukou_code") or ""),
        str(subject.get("residence_address") or ""),
    ]


def _request_cells(sheet: str, body: Mapping[str, Any]) -> list[str]:
    if sheet == "通报":
        category = str(body.get("category", ""))
        cat = get_catalog().categories.get(category)
        return [
            cat.label if cat is not None else category,
            str(body.get("event_date") or ""),
            render_details(category, body.get("details") or {}),
            str(body.get("remarks") or ""),
        ]
    if sheet == "查询":
        questions = get_catalog().tables["query_question"].codes
        return [
            label_of("query_topic", body.get("topic", "")),
            "；".join(questions.get(q, q) for q in body.get("questions") or []),
            str(body.get("remarks") or ""),
        ]
    return [
        label_of("assist_action", body.get("action", "")),
        label_of("urgency", body.get("urgency", "normal")),
        str(body.get("reason") or ""),
        str(body.get("remarks") or ""),
    ]


def request_headers(sheet: str) -> list[str]:
    answer = [header for header, _f, _t in ANSWER_COLUMNS[sheet]]
    return [*BASE_COLUMNS, *SUBJECT_COLUMNS, *REQUEST_COLUMNS[sheet], *answer]


def _reply_cells(msg: StoredMessage) -> list[str]:
    body = msg.envelope.get("body") or {}
    outcome_table = {
        "feedback": "feedback_outcome",
        "query_reply": "query_outcome",
        "assist_reply": "assist_outcome",
    }[msg.type]
    content: list[str] = []
    if body.get("transferred_to"):
        content.append(f"迁入地: {_division(str(body['transferred_to']))}")
    for corr in body.get("corrections") or []:
        content.append(f"更正 {corr.get('field')}: {corr.get('origin_value')}")
    for key in ("answer", "result", "remarks"):
        if body.get(key):
            content.append(str(body[key]))
    return [
        msg.message_id,
        TYPE_LABELS.get(msg.type, msg.type),
        _division(msg.sender),
        _moment(msg.available_at or msg.received_at),
        msg.in_reply_to or "",
        label_of(outcome_table, body.get("outcome", "")),
        "、".join(label_of("verification_source", s) for s in body.get("verified_sources") or []),
        "；".join(content),
    ]


def _sheet(wb: Workbook, title: str) -> Any:
    # A write-only sheet: the stubs omit the column_dimensions and data_validations it has
    # (set up by Worksheet._setup), so it is handled untyped here.
    return wb.create_sheet(title)


def _header_row(ws: Any, headers: Sequence[str], fill_from: int) -> None:
    cells = []
    for i, header in enumerate(headers):
        cell = WriteOnlyCell(ws, value=header)
        cell.font = _HEADER_FONT
        if i >= fill_from:
            cell.fill = _ANSWER_FILL
        cells.append(cell)
    ws.append(cells)


def _list_validation(ws: Any, column: int, choices: Iterable[str]) -> None:
    letter = get_column_letter(column)
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showErrorMessage=False,  # the wire code typed by hand is accepted as well
    )
    dv.add(f"{letter}2:{letter}1048576")
    ws.data_validations.append(dv)


def _request_sheet(wb: Workbook, sheet: str, messages: Sequence[StoredMessage]) -> None:
    ws = _sheet(wb, sheet)
    headers = request_headers(sheet)
    first_answer = len(headers) - len(ANSWER_COLUMNS[sheet])
    for i, header in enumerate(headers, start=1):
        wide = header in ("详情", "户籍地址", "现居住地址", "协查原因", "查询事项", ID_COLUMN)
        ws.column_dimensions[get_column_letter(i)].width = 40 if wide else 16
    ws.freeze_panes = "B2"
    outcome_col = headers.index(OUTCOME[sheet]) + 1
    _list_validation(ws, outcome_col, labels(ANSWER_COLUMNS[sheet][0][2] or ""))
    _header_row(ws, headers, first_answer)
    for msg in messages:
        env = msg.envelope
        ws.append(
            [
                msg.message_id,
                _division(msg.sender),
                _moment(msg.available_at or msg.received_at),
                _deadline(msg),
                *_subject_cells(env.get("subject") or {}),
                *_request_cells(sheet, env.get("body") or {}),
                *([""] * len(ANSWER_COLUMNS[sheet])),
            ]
        )


def _replies_sheet(wb: Workbook, messages: Sequence[StoredMessage]) -> None:
    ws = _sheet(wb, REPLY_SHEET)
    for i, header in enumerate(REPLY_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 40 if header == "内容" else 18
    ws.freeze_panes = "B2"
    _header_row(ws, REPLY_COLUMNS, len(REPLY_COLUMNS))
    for msg in messages:
        ws.append(_reply_cells(msg))


def _save_atomically(wb: Workbook, path: Path) -> None:
    """Write beside the target and rename: a crash never leaves half a workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    wb.save(partial)
    os.replace(partial, path)


def write_inbox_workbook(path: Path, messages: Sequence[StoredMessage]) -> dict[str, int]:
    """Write received messages into one workbook; returns rows per sheet."""
    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    for kind, sheet in SHEET_OF_TYPE.items():
        chosen = [m for m in messages if m.type == kind]
        if chosen:
            _request_sheet(wb, sheet, chosen)
            counts[sheet] = len(chosen)
    replies = [m for m in messages if m.type in REPLY_TYPES]
    if replies:
        _replies_sheet(wb, replies)
        counts[REPLY_SHEET] = len(replies)
    _save_atomically(wb, path)
    return counts


# --- reading the clerks' answers -----------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as the clerk meant it: numbers typed into code columns lose the ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_answers(path: Path) -> tuple[list[AnswerRow], int]:
    """The filled rows of every request sheet, and how many rows were left blank."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not .xlsx
        raise WorkbookError(
            f"cannot read the workbook ({type(exc).__name__}) / 无法读取工作簿，请确认是 .xlsx 文件"
        ) from None
    try:
        rows: list[AnswerRow] = []
        blank = 0
        sheets = [name for name in wb.sheetnames if name in TYPE_OF_SHEET]
        if not sheets:
            raise WorkbookError(
                "no sheet named 通报, 查询 or 协查 / 工作簿中没有“通报”“查询”“协查”工作表"
            )
        for sheet in sheets:
            found, empty = _read_sheet(wb[sheet], sheet)
            rows.extend(found)
            blank += empty
        return rows, blank
    finally:
        wb.close()


def _read_sheet(ws: Any, sheet: str) -> tuple[list[AnswerRow], int]:
    answer_headers = [header for header, _f, _t in ANSWER_COLUMNS[sheet]]
    iterator = ws.iter_rows(values_only=True)
    header = next(iterator, None)
    if header is None:
        return [], 0
    index = {cell_text(h): i for i, h in enumerate(header) if cell_text(h)}
    if ID_COLUMN not in index:
        raise WorkbookError(
            f"sheet {sheet} has no column {ID_COLUMN} / 工作表“{sheet}”缺少报文编号列"
        )
    wanted = [h for h in answer_headers if h in index]
    rows: list[AnswerRow] = []
    blank = 0
    for number, values in enumerate(iterator, start=2):

        def text(header: str, values: tuple[Any, ...] = values) -> str:
            i = index[header]
            return cell_text(values[i]) if i < len(values) else ""

        filled = {h: text(h) for h in wanted if text(h)}
        message_id = text(ID_COLUMN)
        if not filled:
            if message_id:
                blank += 1
            continue
        rows.append(AnswerRow(sheet, number, message_id, filled))
    return rows, blank


def write_report(path: Path, problems: Sequence[RowProblem]) -> None:
    """The receipt (回执): one line per row not sent or refused, naming the column."""
    wb = Workbook(write_only=True)
    ws = _sheet(wb, REPORT_SHEET)
    for i, width in enumerate((10, 8, 40, 16, 60, 28), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    _header_row(ws, REPORT_COLUMNS, len(REPORT_COLUMNS))
    for p in problems:
        ws.append([p.sheet, p.row, p.message_id, p.column, p.problem, p.rule])
    _save_atomically(wb, path)


def report_path(answers_file: Path) -> Path:
    """``收件.xlsx`` → ``收件.回执.xlsx`` beside it."""
    return answers_file.with_name(f"{answers_file.stem}.回执.xlsx")
