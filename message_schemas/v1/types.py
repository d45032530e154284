"""Field types of the standard: code-table values, division codes, ID numbers, dates, names,
free text.

Each type validates with a stable rule name (the ``type`` of a PydanticCustomError) and a
message that never echoes the value, and carries its JSON Schema (enum with Chinese labels,
pattern) so the exported schemas say what the validators enforce.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from message_schemas.catalog import get_catalog
from message_schemas.codes import CodeProblem
from message_schemas.idnumber import IdNumberError, parse_id_number

# Every model of the standard: unknown fields are errors; values are never silently altered.
STRICT = ConfigDict(extra="forbid")

DIVISION_PATTERN = r"^(\d{6}|\d{9}|\d{12})$"


@dataclass(frozen=True, slots=True)
class Code:
    """Marker: ``Annotated[str, Code("marital_status")]`` allows only that table's codes.

    The table is read from the catalogue when the model is built, so an overlay's codes count.
    """

    table: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        table = get_catalog().table(self.table)
        # A literal check runs inside pydantic-core (no Python call per value), wrapped so the
        # rule reads `code_unknown` rather than pydantic's generic `literal_error`.
        return core_schema.custom_error_schema(
            core_schema.literal_schema(list(table.codes)),
            custom_error_type="code_unknown",
            custom_error_message=(
                f"not a code of table {table.name} / 不是“{table.label}”代码表中的代码"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        table = get_catalog().table(self.table)
        return {
            "type": "string",
            "enum": list(table.codes),
            "title": f"{table.label} / {table.label_en}",
            "x-code-table": table.name,
            "x-labels": dict(table.codes),
        }


class Divisions(Protocol):
    """What the standard asks of the division tables. The tables are not part of the
    standard: whoever validates passes the registry in force (``validate_message(...,
    divisions=registry)``), so a newly loaded table counts at once, without a restart."""

    def check_code(self, code: str, *, min_level: str | None = None) -> CodeProblem | None: ...

    def is_known_id_prefix(self, prefix6: str) -> bool: ...


def divisions_of(info: ValidationInfo) -> Divisions:
    context = info.context
    if not isinstance(context, dict) or "divisions" not in context:
        # a programming error, not a bad message: never reported as a field error
        raise RuntimeError("validate through message_schemas.validate_message(..., divisions=)")
    divisions: Divisions = context["divisions"]
    return divisions


def _division_checker(min_level: str | None) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        problem = divisions_of(info).check_code(value, min_level=min_level)
        if problem is not None:
            raise PydanticCustomError(problem.rule, problem.message)
        return value

    return check


def _division_schema(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": DIVISION_PATTERN, "description": description}


DivisionCode = Annotated[
    str,
    AfterValidator(_division_checker(None)),
    WithJsonSchema(
        _division_schema("行政区划代码（6、9或12位）/ division code, 6, 9 or 12 digits")
    ),
]
VillageCode = Annotated[
    str,
    AfterValidator(_division_checker("village")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{12}$",
            "description": "村（居）级12位区划代码 / 12-digit village-level division code",
        }
    ),
]


def _check_id_number(value: str, info: ValidationInfo) -> str:
    try:
        parsed = parse_id_number(value)
    except IdNumberError as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None
    if not divisions_of(info).is_known_id_prefix(parsed.county_prefix):
        raise PydanticCustomError(
            "id_region",
            "first six digits name no county that ever existed / 前六位不是任何时期的县级区划代码",
        )
    return parsed.number


IdNumberStr = Annotated[
    str,
    AfterValidator(_check_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d{17}[\dXx]|\d{15})$",
            "description": "公民身份号码（GB 11643；15位自动升位）/ citizen ID number",
        }
    ),
]


# --- dates ------------------------------------------------------------------------------------
# The range every date of the standard lies in (docs/message-schemas.md, "Dates"): wide enough
# for anyone alive and any plan, narrow enough that no arithmetic on it (working days, +N days,
# time-zone conversion) leaves the range Python's date and datetime can hold.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2099, 12, 31)
EVENT_DATE_MIN = date(2000, 1, 1)
CREATED_YEARS = (2000, 2099)
MAX_UTC_OFFSET = timedelta(hours=14)  # UTC+14:00 (Kiribati) to UTC−12:00 are in use


def _refuse_numbers(value: Any) -> Any:
    """Dates and times are ISO 8601 text. Pydantic's lax mode would read a JSON number as a
    Unix timestamp (0 → 1970-01-01): a value silently made up, so refuse it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "date_type", "an ISO 8601 date or time as text, not a number / 须为ISO 8601格式文本"
        )
    return value


@dataclass(frozen=True, slots=True)
class DateRange:
    """Marker: ``Annotated[date, DateRange(lo, hi, message)]`` refuses dates outside lo…hi
    with rule ``date_range``. The check runs inside pydantic-core (no Python call per value);
    the JSON Schema carries the bounds as ``formatMinimum`` / ``formatMaximum``."""

    lo: date
    hi: date
    message: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # First parse as the plain type would (its own errors keep their rule names), then
        # compare the parsed date; only the comparison is reported as `date_range`.
        return core_schema.chain_schema(
            [
                core_schema.no_info_before_validator_function(_refuse_numbers, handler(source)),
                core_schema.custom_error_schema(
                    core_schema.date_schema(ge=self.lo, le=self.hi),
                    custom_error_type="date_range",
                    custom_error_message=self.message,
                ),
            ]
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["formatMinimum"] = self.lo.isoformat()
        out["formatMaximum"] = self.hi.isoformat()
        return out


StdDate = Annotated[
    date,
    DateRange(
        DATE_MIN,
        DATE_MAX,
        "date outside 1900-01-01 … 2099-12-31 / 日期须在1900年1月1日至2099年12月31日之间",
    ),
]
"""Every date of the standard (birth dates, detail dates)."""

EventDate = Annotated[
    date,
    DateRange(
        EVENT_DATE_MIN,
        DATE_MAX,
        "event date outside 2000-01-01 … 2099-12-31 / 事件日期须在2000年1月1日至2099年12月31日之间",
    ),
]
"""A notification's ``body.event_date``: nothing before 2000 is notified any more."""


@dataclass(frozen=True, slots=True)
class DateTimeRange:
    """Marker for ``created_at``: the date as written (before any conversion) in the years
    ``CREATED_YEARS`` and the UTC offset within ±14:00. Both are read from the parsed value
    without converting it: converting 0001-01-01T00:00:00+14:00 or 9999-12-31T23:59:59-12:00
    to UTC overflows, which is what this check exists to prevent."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _check_datetime,
            core_schema.no_info_before_validator_function(_refuse_numbers, handler(source)),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["description"] = (
            "ISO 8601 with offset; local date 2000-01-01 … 2099-12-31, offset −14:00 … +14:00 "
            "/ 含时区偏移；当地日期在2000年至2099年之间，偏移不超过±14:00"
        )
        return out


def _check_datetime(value: datetime) -> datetime:
    lo, hi = CREATED_YEARS
    if not lo <= value.year <= hi:
        raise PydanticCustomError(
            "datetime_range",
            "date outside 2000-01-01 … 2099-12-31 / 时间须在2000年1月1日至2099年12月31日之间",
        )
    offset = value.utcoffset()
    if offset is None or abs(offset) > MAX_UTC_OFFSET:
        raise PydanticCustomError(
            "utc_offset_range",
            "UTC offset beyond ±14:00 / 时区偏移超出±14:00",
        )
    return value


StdDateTime = Annotated[AwareDatetime, DateTimeRange()]
"""``created_at``: a timestamp with its offset, in range (rules ``datetime_range``,
``utc_offset_range``); safe to convert to any time zone once validated."""


# --- characters -------------------------------------------------------------------------------
# str.isprintable() is False exactly for the Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp and
# Zs other than U+0020 (tests/message_schemas/test_characters.py checks this on every code
# point), so it is the C-speed first test for all of them; the slow path below only runs on
# the rare value that fails it.
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_SPACES += "\u202f\u205f\u3000"  # every Zs but U+0020 (which is printable)
_OTHER_SPACES = re.compile(f"[{_SPACES}]+")


def _reserved_ideograph(ch: str) -> bool:
    """Planes 2 and 3 hold CJK ideographs only; a code point there that this Python's Unicode
    database does not know yet is an ideograph of a newer Unicode version (Ext. H, I, J …:
    rare characters used in names), not an unassigned one. Noncharacters U+xFFFE/F excepted."""
    cp = ord(ch)
    return 0x20000 <= cp < 0x40000 and cp & 0xFFFE != 0xFFFE


def _all_printable(value: str) -> bool:
    return all(ch.isprintable() or _reserved_ideograph(ch) for ch in value)


_MARKS = frozenset({"Mn", "Me"})
MAX_MARK_RUN = 2
MAX_TIBETAN_MARK_RUN = 4  # Tibetan stacks subjoined letters and vowel signs (all Mn) on a base


def _bad_marks(value: str) -> bool:
    """A mark with no base, or more stacked combining marks than any script's names use."""
    if unicodedata.category(value[0]).startswith("M"):
        return True
    run = 0
    tibetan = True
    for ch in value:
        if ch.isalpha() or unicodedata.category(ch) not in _MARKS:
            run, tibetan = 0, True
            continue
        run += 1
        tibetan = tibetan and "\u0f00" <= ch <= "\u0fff"
        if run > (MAX_TIBETAN_MARK_RUN if tibetan else MAX_MARK_RUN):
            return True
    return False


# --- personal names -----------------------------------------------------------------------------
NAME_MAX_LENGTH = 50
# The middle dot between the parts of a transliterated name: U+00B7 (GB 18030 A1A4, the form
# of the household register), U+30FB (what some GB 2312 mappings and IMEs give) and U+2027
# (Big5). U+FF0E is a full-width full stop, not a middle dot: refused, so that "买买提．艾力"
# is corrected at the source rather than failing to match "买买提·艾力" at the origin.
NAME_DOTS = "\u00b7\u30fb\u2027"
_DOT_PLACEMENT = rf"^[{NAME_DOTS}]|[{NAME_DOTS}]$|[{NAME_DOTS}]{{2}}"  # only between parts
_NAME_FORMAT = re.compile(
    rf"[\d<>{{}}\[\]\\/|@#$%^&*=+;:\"'\uff0e]"  # digits (any script), markup, U+FF0E
    rf"|{_DOT_PLACEMENT}"
)
_PART_EDGES = frozenset(NAME_DOTS + " ")


def _name_characters_error() -> PydanticCustomError:
    return PydanticCustomError(
        "name_characters",
        "a name holds no control, format, private-use or unassigned characters, other "
        "spaces than U+0020, nor stacked combining marks "
        "/ 姓名不得含控制字符、格式字符、私用区或未分配字符、特殊空格或叠加附加符号",
    )


def _name_format_error() -> PydanticCustomError:
    return PydanticCustomError("name_format", "not a personal name / 姓名格式不正确")


def _check_name(value: str) -> str:
    # Fast paths, in C: letters only (李秀英), or letters between spaces and middle dots
    # (买买提·艾力, Mary Jane): no control character, mark, digit or markup can be there.
    if value.isalpha():
        return value
    dots = value.replace("\u30fb", "\u00b7").replace("\u2027", "\u00b7")
    if dots.replace("\u00b7", "").replace(" ", "").isalpha():
        if value[0] in _PART_EDGES or value[-1] in _PART_EDGES or "\u00b7\u00b7" in dots:
            raise _name_format_error()
        return value
    if not (value.isprintable() or _all_printable(value)) or _bad_marks(value):
        raise _name_characters_error()
    # Refused, not trimmed: values are never silently changed (docs/message-schemas.md).
    if (
        value != value.strip()
        or _NAME_FORMAT.search(value) is not None
        or not any(ch.isalpha() for ch in value)
    ):
        raise _name_format_error()
    return value


PersonName = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(_check_name),
]


# --- free text ----------------------------------------------------------------------------------
def _check_text(value: str) -> str:
    """Multi-line free text: TAB, LF, CR and the spaces of every script are allowed."""
    if value.isprintable():
        return value
    rest = value.replace("\n", "").replace("\r", "").replace("\t", "")  # the usual case, fast
    if rest.isprintable():
        return value
    rest = _OTHER_SPACES.sub("", rest)
    if rest.isprintable() or _all_printable(rest):
        return value
    raise PydanticCustomError(
        "text_characters",
        "text holds no control (other than TAB, LF, CR), format, private-use or unassigned "
        "characters / 文本不得含控制字符（制表、换行除外）、格式字符、私用区或未分配字符",
    )


def _check_line(value: str) -> str:
    """Single-line text (addresses): no TAB, LF or CR either."""
    if value.isprintable():
        return value
    rest = _OTHER_SPACES.sub("", value)
    if rest.isprintable() or _all_printable(rest):
        return value
    raise PydanticCustomError(
        "text_characters",
        "a single line holds no line breaks, TAB, control, format, private-use or unassigned "
        "characters / 单行文本不得含换行、制表、控制字符、格式字符、私用区或未分配字符",
    )


def free_text(max_length: int, min_length: int = 0) -> Any:
    """Multi-line free text of the given length (for types built from data)."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_check_text)
    ]


Text = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_check_text)]
"""Free text that must say something (answers, reasons, results); may span lines."""
Remarks = Annotated[str, Field(max_length=1000), AfterValidator(_check_text)]
"""备注: optional free text, may span lines."""
Note = Annotated[str, Field(max_length=500), AfterValidator(_check_text)]
"""Short free text: a correction's origin value or note; may span lines."""
Question = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_check_text)]
"""A query's question: a code of table query_question or free text."""
Address = Annotated[str, Field(min_length=2, max_length=200), AfterValidator(_check_line)]
"""A postal address: one line."""
