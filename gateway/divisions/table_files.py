"""Operator-loaded division files: read (UTF-8 or GB18030), validate strictly, store, reload.

Three kinds, each a CSV with a header row (lines starting with ``#`` are comments):

- ``national``   ``code,name,parent_code``: a newer MCA table replacing the packaged one;
- ``village``    ``code,name``: 12-digit village/community codes of the townships it covers;
- ``successors`` ``old_code,new_code,source``: links from retired codes (empty new_code = none).

A file is checked whole and rejected with every problem found (up to a cap) as FieldError
``row.<line>.<column>`` + rule; nothing is stored unless the whole file is valid. Stored copies
are normalised to UTF-8 under ``<data_dir>/divisions/`` and read by the registry on its next
build. Validation that needs the current tables takes them as arguments (no registry import).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from gateway.divisions.errors import DivisionDataError
from gateway.divisions.sources import CurrentTable, Node
from gateway.divisions.successors import SuccessorRow
from message_schemas.codes import Level, is_code_format, structural_level
from message_schemas.errors import FieldError

Kind = Literal["national", "village", "successors"]
KINDS: Final[tuple[Kind, ...]] = ("national", "village", "successors")
COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {
    "national": ("code", "name", "parent_code"),
    "village": ("code", "name"),
    "successors": ("old_code", "new_code", "source"),
}
STORED_NAMES: Final[dict[Kind, str]] = {
    "national": "national.csv",
    "village": "villages.csv",
    "successors": "successors.csv",
}
MAX_ERRORS: Final = 50
MAX_NAME: Final = 60


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # line number in the file, header = its own line number
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class LoadResult:
    kind: Kind
    rows: int
    stored_at: Path
    meta: dict[str, Any]


def field_error(field: str, rule: str, message: str) -> FieldError:
    return FieldError(field, rule, message)


def division_error(detail: str, errors: list[FieldError], **context: str) -> DivisionDataError:
    return DivisionDataError(detail, errors=errors, **context)


class _Errors:
    """Collects FieldErrors; raises once at the end so the operator sees them all."""

    def __init__(self, file_label: str) -> None:
        self.items: list[FieldError] = []
        self.file_label = file_label

    def add(self, line: int | str, column: str, rule: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(field_error(f"row.{line}.{column}", rule, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise division_error(
                f"{len(self.items)} problem(s) in division file / 区划文件有误",
                self.items,
                file=self.file_label,
            )


# --- reading -------------------------------------------------------------------------------


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; anything else is read as GB18030 (a superset of GBK)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise division_error(
            "file is neither UTF-8 nor GB18030 / 文件编码不是UTF-8或GB18030",
            [field_error("file", "encoding", "undecodable bytes / 无法解码")],
        ) from None


def parse_csv(text: str, kind: Kind, file_label: str) -> list[Row]:
    """Rows with exactly the kind's columns; comments and blank lines skipped."""
    errors = _Errors(file_label)
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        errors.add("1", "header", "csv_header", "empty file / 文件为空")
        errors.raise_if_any()
    # One line at a time: a stray quote must not swallow the rows after it.
    records = [next(csv.reader([line])) for _, line in lines]
    header_line = lines[0][0]
    header = [h.strip().lower() for h in records[0]]
    expected = COLUMNS[kind]
    if tuple(header) != expected:
        errors.add(
            header_line, "header", "csv_header",
            f"header must be {','.join(expected)} / 表头应为 {','.join(expected)}",
        )  # fmt: skip
        errors.raise_if_any()
    rows: list[Row] = []
    for (line_no, _), record in zip(lines[1:], records[1:], strict=True):
        if len(record) != len(expected):
            errors.add(line_no, "*", "csv_columns", "wrong number of columns / 列数不对")
            continue
        rows.append(Row(line_no, {k: v.strip() for k, v in zip(expected, record, strict=True)}))
    if not rows and not errors.items:
        errors.add(header_line, "*", "csv_empty", "no data rows / 没有数据行")
    errors.raise_if_any()
    return rows


def _check_name(errors: _Errors, row: Row, column: str = "name") -> None:
    name = row.values[column]
    if not name or len(name) > MAX_NAME or any(ord(ch) < 32 for ch in name):
        errors.add(row.line, column, "name_invalid", "name empty or malformed / 名称为空或格式不对")


# --- national ------------------------------------------------------------------------------


def national_level(code: str, parent: Node | None) -> Level:
    if len(code) == 9:
        return "township"
    if parent is None:
        return "province"
    if parent.level == "province" and structural_level(code) == "city":
        return "city"
    return "county"


def validate_national(
    rows: list[Row], file_label: str, *, as_of: date, packaged: CurrentTable
) -> dict[str, Node]:
    errors = _Errors(file_label)
    packaged_as_of = date.fromisoformat(str(packaged.metadata.get("data_as_of", "1970-01-01")))
    if as_of <= packaged_as_of:
        errors.items.append(
            field_error(
                "as_of", "national_not_newer",
                f"as-of date must be after the packaged table's {packaged_as_of.isoformat()} "
                f"/ 日期须晚于内置表日期",
            )
        )  # fmt: skip
    seen: dict[str, Row] = {}
    for row in rows:
        code = row.values["code"]
        if len(code) not in (6, 9) or not is_code_format(code):
            errors.add(
                row.line, "code", "division_format", "code must be 6 or 9 digits / 代码应为6或9位"
            )
            continue
        if code in seen:
            errors.add(row.line, "code", "duplicate_code", "code listed twice / 代码重复")
            continue
        _check_name(errors, row)
        seen[code] = row
    nodes: dict[str, Node] = {}
    # Parents first: provinces, then 6-digit codes by level, then townships.
    for code in sorted(seen, key=lambda c: (len(c), structural_level(c) != "province", c)):
        row = seen[code]
        parent_code = row.values["parent_code"]
        parent = nodes.get(parent_code)
        problem = _parent_problem(code, parent_code, parent)
        if problem:
            errors.add(row.line, "parent_code", problem[0], problem[1])
            continue
        level = national_level(code, parent)
        nodes[code] = Node(code, row.values["name"], level, parent_code)
    missing = {c[:2] for c, n in packaged.nodes.items() if n.level == "province"} - {
        c[:2] for c, n in nodes.items() if n.level == "province"
    }
    if missing and not errors.items:
        errors.items.append(
            field_error(
                "file", "national_incomplete",
                f"{len(missing)} province(s) of the packaged table missing / 缺少省级区划",
            )
        )  # fmt: skip
    errors.raise_if_any()
    return nodes


def _parent_problem(code: str, parent_code: str, parent: Node | None) -> tuple[str, str] | None:
    if structural_level(code) == "province" and len(code) == 6:
        if parent_code:
            return "parent_mismatch", "a province has no parent / 省级区划不应有上级"
        return None
    if parent is None:
        return "parent_unknown", "parent code not in the file / 上级代码不在表中"
    if len(code) == 9:
        if parent_code != code[:6]:
            return "parent_mismatch", "a township's parent is its first 6 digits / 上级应为前6位"
        return None
    if parent.level not in ("province", "city") or parent_code[:2] != code[:2]:
        return (
            "parent_mismatch",
            "parent must be a province or city of the same province / 上级不符",
        )
    return None


# --- village -------------------------------------------------------------------------------


def validate_villages(
    rows: list[Row], file_label: str, *, township_ok: Callable[[str], bool]
) -> dict[str, str]:
    errors = _Errors(file_label)
    out: dict[str, str] = {}
    for row in rows:
        code = row.values["code"]
        if len(code) != 12 or not is_code_format(code):
            errors.add(row.line, "code", "division_format", "code must be 12 digits / 代码应为12位")
            continue
        if code in out:
            errors.add(row.line, "code", "duplicate_code", "code listed twice / 代码重复")
            continue
        if code[9:] == "000":
            errors.add(
                row.line, "code", "division_village_range", "village part 000 / 村级部分为000"
            )
            continue
        if not township_ok(code[:9]):
            errors.add(
                row.line, "code", "division_unknown",
                "township part not in the division tables / 乡级部分不在区划表中",
            )  # fmt: skip
            continue
        _check_name(errors, row)
        out[code] = row.values["name"]
    errors.raise_if_any()
    return out


# --- successors ----------------------------------------------------------------------------


def validate_successors(
    rows: list[Row],
    file_label: str,
    *,
    is_current: Callable[[str], bool],
    is_known: Callable[[str], bool],
    existing: Mapping[str, str],
) -> list[SuccessorRow]:
    """existing: every edge already in force (derived, shipped, earlier operator file)."""
    errors = _Errors(file_label)
    out: dict[str, SuccessorRow] = {}
    olds_in_file = {r.values["old_code"] for r in rows}
    for row in rows:
        old, new, source = row.values["old_code"], row.values["new_code"], row.values["source"]
        if not is_code_format(old):
            errors.add(row.line, "old_code", "division_format", "not a division code / 非区划代码")
            continue
        if old in out:
            errors.add(row.line, "old_code", "duplicate_code", "code listed twice / 代码重复")
            continue
        if len(old) > 6 and not is_known(old[:6]):
            errors.add(
                row.line, "old_code", "division_unknown",
                "county part of the old code is in no table / 旧代码的县级部分不在任何区划表中",
            )  # fmt: skip
            continue
        if is_current(old):
            errors.add(
                row.line, "old_code", "successor_old_current",
                "a current code has no successor / 现行代码不能有继承代码",
            )  # fmt: skip
            continue
        if new and not is_code_format(new):
            errors.add(row.line, "new_code", "division_format", "not a division code / 非区划代码")
            continue
        if new and new == old:
            errors.add(row.line, "new_code", "successor_cycle", "code succeeds itself / 自我继承")
            continue
        if new and not is_known(new) and new not in olds_in_file:
            errors.add(
                row.line, "new_code", "division_unknown",
                "successor not in the division tables / 继承代码不在区划表中",
            )  # fmt: skip
            continue
        if not source or len(source) > 500:
            errors.add(row.line, "source", "source_required", "source required / 须注明依据")
            continue
        out[old] = SuccessorRow(old, new, source)
    errors.raise_if_any()
    edges = dict(existing)
    edges.update({r.old_code: r.new_code for r in out.values()})
    by_old = {r.values["old_code"]: r for r in rows}
    for old in out:
        if _loops(old, edges):
            errors.add(
                by_old[old].line,
                "new_code",
                "successor_cycle",
                "successor chain loops / 继承链成环",
            )
    errors.raise_if_any()
    return list(out.values())


def _loops(start: str, edges: Mapping[str, str]) -> bool:
    seen = {start}
    code = start
    while True:
        code = edges.get(code, "")
        if not code:
            return False
        if code in seen:
            return True
        seen.add(code)


# --- storing and re-reading ----------------------------------------------------------------


def stored_path(directory: Path, kind: Kind) -> Path:
    """Where the operator's copy of ``kind`` lives in ``directory`` (<data_dir>/divisions)."""
    return directory / STORED_NAMES[kind]


def meta_path(directory: Path, kind: Kind) -> Path:
    return stored_path(directory, kind).with_name(STORED_NAMES[kind] + ".meta.json")


def write_stored(
    directory: Path, kind: Kind, rows: Iterable[tuple[str, ...]], meta: dict[str, Any]
) -> LoadResult:
    """Write atomically (temp file + rename) so a reader never sees half a table. The
    directory is created private (0700) if it does not exist."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS[kind])
    count = 0
    for values in rows:
        writer.writerow(values)
        count += 1
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = stored_path(directory, kind)
    meta = {**meta, "rows": count, "loaded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    # Metadata first: the registry notices a new table by the CSV, which is renamed in last.
    meta_path(directory, kind).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    tmp.replace(path)
    return LoadResult(kind=kind, rows=count, stored_at=path, meta=meta)


def read_stored(directory: Path | None, kind: Kind) -> tuple[list[Row], dict[str, Any]] | None:
    """The stored copy of a kind and its metadata, or None when none was loaded."""
    if directory is None:
        return None
    path = stored_path(directory, kind)
    if not path.exists():
        return None
    rows = parse_csv(path.read_text(encoding="utf-8"), kind, str(path))
    meta_file = meta_path(directory, kind)
    meta: dict[str, Any] = {}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    return rows, meta


def read_shipped_successors() -> list[SuccessorRow]:
    text = resources.files("gateway.divisions").joinpath("successors.csv").read_text("utf-8")
    return [
        SuccessorRow(r.values["old_code"], r.values["new_code"], "curated:" + r.values["source"])
        for r in parse_csv(text, "successors", "gateway/divisions/successors.csv")
    ]


def file_fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
