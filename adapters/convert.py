"""One row of a county export → one standard message, or the row's problems for the clerk.

The converter never guesses and never silently changes a value: a word it does not know is
reported (``unknown_label``), a date it cannot read is reported (``date_format``), an address
that does not name a division with enough confidence is reported, and the message it builds is
validated by the standard before it leaves. What it does change is format only (``2026/5/1`` →
``2026-05-01``, a local label → its wire code), and the codes it derives from addresses are
kept with their confidence (``Converted.derived``).

Message ids are UUIDv5 of the sender and the profile's row key (person, category, event date by
default), and ``created_at`` comes from the row (填报日期) or else is the start of the event
date: the same row always makes byte-identical content, so the gateway's idempotency answers a
second import with ``duplicate`` instead of storing anything twice.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, Final

import orjson

from adapters.entries import split_list
from adapters.errors import AdapterError
from adapters.profiles import Profile
from adapters.readers import RawRow
from adapters.report import RowIssue
from gateway.divisions.address import AddressMatch, parse_address
from gateway.divisions.registry import DivisionRegistry
from message_schemas import SCHEMA_VERSION
from message_schemas.catalog import get_catalog
from message_schemas.errors import FieldError, InvalidMessage
from message_schemas.timezone import SHANGHAI
from message_schemas.validate import validate_message

# Fixed forever: changing it would give every already-imported row a new id.
ID_NAMESPACE: Final = uuid.UUID("6f1c3d0e-5b7a-5e21-9a4c-0d8e2f7b1c35")

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATETIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TRUE = frozenset({"是", "有", "已", "已办理", "y", "yes", "true", "1", "√"})
_FALSE = frozenset({"否", "无", "未", "未办理", "n", "no", "false", "0", "×"})


class ProfileMismatch(AdapterError, ValueError):
    """The file lacks headers the profile needs: no row could be converted."""

    kind = "invalid"
    title = "Required columns missing / 缺少必需的列"
    slug = "columns-missing"

    def __init__(self, missing: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        self.missing = list(missing)
        wanted = "；".join(f"{'或'.join(h)}（{path}）" for path, h in self.missing)
        super().__init__(
            f"文件缺少必需的列：{wanted} / the file lacks required columns",
            errors=[
                FieldError("records", "column_missing", f"{'/'.join(aliases)} ({path})")
                for path, aliases in self.missing
            ],
        )


@dataclass(frozen=True, slots=True)
class Derived:
    """A division code the converter derived from a free-text address."""

    field: str
    code: str
    level: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Converted:
    row: int
    message_id: str
    body: bytes  # the message as JSON, validated
    normal: bytes  # the message as the gateway will store it (its receipt's digest is of it)
    derived: tuple[Derived, ...] = ()
    warnings: tuple[RowIssue, ...] = ()  # sent anyway, but the clerk should look


@dataclass(frozen=True, slots=True)
class Rejected:
    row: int
    message_id: str | None
    issues: tuple[RowIssue, ...]


def chinese_part(message: str) -> str:
    """The clerk's half of a bilingual "English / 中文" text (the whole text otherwise)."""
    for part in message.split(" / "):
        if any("\u4e00" <= ch <= "\u9fff" for ch in part):
            return part.strip()
    return message


def _words(table: str, local: Mapping[str, str]) -> dict[str, str]:
    """Every accepted word of a code table → wire code: the catalogue's (codes and Chinese
    labels), then the profile's local words, which win."""
    catalog = get_catalog()
    if table == "category":
        words = {code: code for code in catalog.categories}
        words.update({c.label: code for code, c in catalog.categories.items()})
    else:
        words = catalog.tables[table].words()
    return {**words, **local}


def _table_title(table: str) -> str:
    if table == "category":
        return "通报事项"
    return get_catalog().tables[table].label


def _choices(table: str) -> str:
    if table == "category":
        labels = [c.label for c in get_catalog().categories.values()]
    else:
        labels = list(get_catalog().tables[table].codes.values())
    return "、".join(labels[:12])


@lru_cache(maxsize=2)
def _villages_by_township(registry: DivisionRegistry) -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, name in registry.villages.items():
        index[code[:9]].append((name, code))
    return dict(index)


class Converter:
    """Converts rows of one file (its headers resolved once) under one profile and sender."""

    def __init__(
        self,
        profile: Profile,
        headers: Iterable[str],
        *,
        sender: str,
        registry: DivisionRegistry,
    ) -> None:
        self.profile = profile
        self.sender = sender
        self.registry = registry
        present = set(headers)
        # field path → the header it reads in this file (first alias present)
        self.column: dict[str, str] = {}
        for path, aliases in profile.columns.items():
            for header in aliases:
                if header in present:
                    self.column[path] = header
                    break
        missing = [
            (path, profile.columns[path])
            for path in profile.required_columns
            if path not in self.column
        ]
        if missing:
            raise ProfileMismatch(missing)
        self._types = profile.field_types
        self._words = {
            table: _words(table, profile.labels.get(table, {}))
            for table in {t.split(":")[-1] for t in self._types.values() if "code:" in t}
        }
        self._event_field = {
            code: next((f.name for f in cat.fields if f.equals_event and f.type == "date"), None)
            for code, cat in get_catalog().categories.items()
        }
        self._infer = [
            (rule.category, [self.column[p] for p in rule.when if p in self.column])
            for rule in profile.infer
            if all(p in self.column for p in rule.when)
        ]
        self._detail_paths = [p for p in self.column if p.startswith("body.details.")]
        # message id → first row that made it: a file repeating a row key is reported
        # (16 id bytes, not the 36-character text: 200,000 rows hold ~20 MB less)
        self._seen: dict[bytes, int] = {}

    def column_of(self, path: str) -> str:
        """The header feeding a field path ('' when no column does)."""
        if path in self.column:
            return self.column[path]
        # a nested error (body.details.aspects.1) belongs to its field's column
        while "." in path:
            path = path.rsplit(".", 1)[0]
            if path in self.column:
                return self.column[path]
        return ""

    # --- typed values ----------------------------------------------------------------------

    def _value(self, path: str, text: str, row: int, issues: list[RowIssue]) -> Any:
        kind = self._types[path]
        column = self.column[path]
        if kind in ("text", "division", "id_number"):
            return text
        if kind in ("date", "datetime"):
            parsed = _parse_date(text) if kind == "date" else _parse_datetime(text)
            if parsed is None:
                issues.append(
                    RowIssue(
                        row, column, text, "date_format", "日期无法识别，请填写如 2026-05-01", path
                    )
                )
            return parsed
        if kind == "int":
            digits = text.removesuffix(".0")
            if digits.isdigit():
                return int(digits)
            issues.append(RowIssue(row, column, text, "int_format", "须填写整数", path))
            return None
        if kind == "bool":
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            issues.append(RowIssue(row, column, text, "bool_format", "须填写“是”或“否”", path))
            return None
        table = kind.rsplit(":", 1)[1]
        words = self._words[table]
        if kind.startswith("list:"):
            out = []
            for word in split_list(text):
                code = words.get(word)
                if code is None:
                    issues.append(self._unknown(row, column, text, path, table))
                    return None
                out.append(code)
            return out
        code = words.get(text)
        if code is None:
            issues.append(self._unknown(row, column, text, path, table))
        return code

    def _unknown(self, row: int, column: str, text: str, path: str, table: str) -> RowIssue:
        return RowIssue(
            row,
            column,
            text,
            "unknown_label",
            f"不是“{_table_title(table)}”的可用填法（可填：{_choices(table)}）",
            path,
        )

    # --- one row ---------------------------------------------------------------------------

    def convert(self, raw: RawRow) -> Converted | Rejected:
        row = raw.number
        values = raw.values
        issues: list[RowIssue] = []
        warnings: list[RowIssue] = []
        derived: list[Derived] = []
        got: dict[str, Any] = {}
        for path, header in self.column.items():
            text = values.get(header, "")
            if text == "" or path.startswith("body.details."):
                continue
            value = self._value(path, text, row, issues)
            if value is not None:
                got[path] = value

        category = got.get("body.category")
        if category is None and "body.category" not in {i.field for i in issues}:
            for candidate, headers in self._infer:
                if all(values.get(h, "") != "" for h in headers):
                    category = candidate
                    break
            else:
                issues.append(
                    RowIssue(
                        row,
                        self.column.get("body.category", ""),
                        # "" is the reader's key for cells without a header: never read it
                        values.get(self.column["body.category"], "")
                        if "body.category" in self.column
                        else "",
                        "category_unknown",
                        "无法确定通报事项：请填写“通报事项”列，或填写该事项的必填项",
                        "body.category",
                    )
                )
        details: dict[str, Any] = {}
        if category is not None:
            wanted = self.profile.details_of.get(category, frozenset())
            for path in self._detail_paths:
                name = path[13:]
                if name not in wanted:
                    continue
                text = values.get(self.column[path], "")
                if text == "":
                    continue
                value = self._value(path, text, row, issues)
                if value is not None:
                    details[name] = value
            # The category's own date (child's birth, surgery, check) is the event date by the
            # catalogue's definition (equals_event): either one gives the other.
            own = self._event_field.get(category)
            if own is not None:
                if "body.event_date" not in got and own in details:
                    got["body.event_date"] = details[own]
                elif own not in details and isinstance(got.get("body.event_date"), date):
                    details[own] = got["body.event_date"]

        subject = {p[8:]: v for p, v in got.items() if p.startswith("subject.")}
        self._derive_codes(raw, subject, issues, warnings, derived)

        event = got.get("body.event_date")
        created = got.get("created_at")
        if created is None and isinstance(event, date):
            created = datetime.combine(event, time(), SHANGHAI)
        body: dict[str, Any] = {"category": category, "details": details}
        if event is not None:
            body["event_date"] = event.isoformat()
        if "body.remarks" in got:
            body["remarks"] = got["body.remarks"]
        if "birth_date" in subject:
            subject["birth_date"] = subject["birth_date"].isoformat()

        key = self._message_key(subject, category, event)
        message_id = str(key)
        doc: dict[str, Any] = {
            "message_id": message_id,
            "schema_version": SCHEMA_VERSION,
            "type": self.profile.message_type,
            "sender": self.sender,
            "created_at": created.isoformat() if created is not None else None,
            "subject": subject,
            "body": body,
        }
        if "sender_unit" in got:
            doc["sender_unit"] = got["sender_unit"]
        encoded = orjson.dumps(doc)
        # The standard's own checks; fields already reported by the conversion are not
        # reported twice (a dropped bad value would otherwise come back as "missing").
        reported = {i.field for i in issues}
        if "body.event_date" in reported and category is not None:
            own = self._event_field.get(category)
            if own is not None:  # it would have been the event date: not missing on its own
                reported.add(f"body.details.{own}")
        normal = b""
        try:
            # the form the gateway stores (e.g. a 15-digit ID number upgraded): its digest is
            # the one the gateway's receipt signs
            normal = (
                validate_message(encoded, divisions=self.registry)
                .model_dump_json(exclude_none=True)
                .encode()
            )
            errors: list[FieldError] = []
        except InvalidMessage as exc:
            errors = exc.errors
        for error in errors:
            if error.field in reported or _under(error.field, reported):
                continue
            issues.append(self._issue(row, values, error))
        if not issues:
            # only a valid row claims its key: a broken copy of a row is reported for what
            # is broken in it
            first = self._seen.setdefault(key.bytes, row)
            if first != row:
                issues.append(
                    RowIssue(
                        row,
                        "",
                        "",
                        "duplicate_row",
                        f"与第{first}行是同一人、同一通报事项、同一事件日期，不重复报送",
                    )
                )
        if issues:
            return Rejected(row, message_id, tuple(issues) + tuple(warnings))
        return Converted(row, message_id, encoded, normal, tuple(derived), tuple(warnings))

    def _issue(self, row: int, values: Mapping[str, str], error: FieldError) -> RowIssue:
        field = error.field
        if field == "created_at" and "created_at" not in self.column:
            field = "body.event_date"  # created_at was derived from the event date
        column = self.column_of(field)
        message = chinese_part(error.message)
        if not column:
            message = f"{message}：{_field_label(error.field)}（文件中没有对应的列）"
        return RowIssue(
            row, column, values.get(column, "") if column else "", error.rule,
            message, error.field,
        )  # fmt: skip

    def _message_key(self, subject: Mapping[str, Any], category: Any, event: Any) -> uuid.UUID:
        parts = []
        for path in self.profile.key:
            if path == "body.category":
                parts.append(str(category or ""))
            elif path == "body.event_date":
                parts.append(event.isoformat() if isinstance(event, date) else "")
            elif path.startswith("subject."):
                # an ID number's check character is X whichever case the clerk typed
                parts.append(str(subject.get(path[8:], "")).upper())
        key = "|".join((self.sender, self.profile.name, *parts))
        return uuid.uuid5(ID_NAMESPACE, key)

    # --- division codes from addresses -----------------------------------------------------

    def _derive_codes(
        self,
        raw: RawRow,
        subject: dict[str, Any],
        issues: list[RowIssue],
        warnings: list[RowIssue],
        derived: list[Derived],
    ) -> None:
        minimum = self.profile.min_address_confidence
        if "hukou_code" not in subject and "hukou_address" in subject:
            column = self.column["subject.hukou_address"]
            match: AddressMatch = parse_address(subject["hukou_address"], self.registry)
            if match.code is None or match.confidence < minimum:
                issues.append(self._unresolved(raw, column, match, "subject.hukou_code"))
            else:
                code, level = self._village(match, subject["hukou_address"])
                derived.append(Derived("subject.hukou_code", code, level, match.confidence))
                if len(code) == 12 or self.profile.message_type != "notification":
                    subject["hukou_code"] = code
                else:
                    issues.append(
                        RowIssue(
                            raw.number,
                            column,
                            raw.values.get(column, ""),
                            "hukou_code_village_level",
                            f"地址只能确定到{_level_name(level)}（{code}，置信度"
                            f"{match.confidence:.2f}），通报须填写12位村（居）级户籍地区划代码",
                            "subject.hukou_code",
                        )
                    )
        if "residence_code" not in subject and "residence_address" in subject:
            column = self.column["subject.residence_address"]
            match = parse_address(subject["residence_address"], self.registry)
            if match.code is None or match.confidence < minimum:
                # optional in the standard: sent without it, and the clerk is told why
                warnings.append(self._unresolved(raw, column, match, "subject.residence_code"))
            else:
                derived.append(
                    Derived(
                        "subject.residence_code", match.code, match.level or "", match.confidence
                    )
                )
                subject["residence_code"] = match.code

    def _unresolved(self, raw: RawRow, column: str, match: AddressMatch, field: str) -> RowIssue:
        if match.code is None:
            rule = "address_ambiguous" if match.ambiguous else "address_unresolved"
            text = "地址可能指向多个区县，无法确定" if match.ambiguous else "地址无法确定所属区县"
        else:
            rule = "address_low_confidence"
            text = (
                f"地址解析置信度过低（{match.confidence:.2f}，低于"
                f"{self.profile.min_address_confidence:.2f}），不予猜测"
            )
        hint = "，请填写区划代码" if field == "subject.hukou_code" else "，已不带现居住地代码发送"
        return RowIssue(raw.number, column, raw.values.get(column, ""), rule, text + hint, field)

    def _village(self, match: AddressMatch, address: str) -> tuple[str, str]:
        """A 12-digit code when an operator's village table names a village of the matched
        township in the address (the longest name wins); else the match itself."""
        assert match.code is not None
        if match.level == "township":
            found = [
                (len(name), code)
                for name, code in _villages_by_township(self.registry).get(match.code, ())
                if name and name in address
            ]
            if found:
                return max(found)[1], "village"
        return match.code, match.level or "county"


def _field_label(path: str) -> str:
    if path.startswith("body.details."):
        name = path[13:].split(".")[0]
        for category in get_catalog().categories.values():
            for spec in category.fields:
                if spec.name == name and spec.label:
                    return spec.label
    return path


def _under(field: str, reported: set[str]) -> bool:
    return any(field.startswith(r + ".") for r in reported if r)


def _level_name(level: str) -> str:
    return {
        "county": "区县",
        "township": "乡镇（街道）",
        "city": "地市",
        "village": "村（居）",
    }.get(level, level)


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text) or _COMPACT.match(text)
    if match is None:
        if text.endswith(" 00:00:00"):
            return _parse_date(text[:-9])
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _parse_datetime(text: str) -> datetime | None:
    match = _DATETIME.match(text)
    if match is not None:
        try:
            return datetime(
                int(match[1]),
                int(match[2]),
                int(match[3]),
                int(match[4]),
                int(match[5]),
                int(match[6] or 0),
                tzinfo=SHANGHAI,
            )
        except ValueError:
            return None
    day = _parse_date(text)
    return None if day is None else datetime.combine(day, time(), SHANGHAI)
