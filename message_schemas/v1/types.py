"""Field types of the standard: code-table values, division codes, ID numbers, names.

Each type validates with a stable rule name (the ``type`` of a PydanticCustomError) and a
message that never echoes the value, and carries its JSON Schema (enum with Chinese labels,
pattern) so the exported schemas say what the validators enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from gateway.divisions.registry import CodeProblem, get_registry
from message_schemas.catalog import get_catalog
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


def _division_checker(min_level: str | None) -> Any:
    registry = get_registry()

    # Messages name the same few thousand codes over and over; a C-level cache makes the
    # check a dictionary hit. The registry is fixed for the life of the process.
    @lru_cache(maxsize=65536)
    def problem_of(value: str) -> CodeProblem | None:
        return registry.check_code(value, min_level=min_level)

    def check(value: str) -> str:
        problem = problem_of(value)
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


def _check_id_number(value: str) -> str:
    try:
        parsed = parse_id_number(value)
    except IdNumberError as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None
    if not get_registry().is_known_id_prefix(parsed.county_prefix):
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

_NAME_FORBIDDEN = frozenset("0123456789<>{}[]\\/|@#$%^&*=+;:\"'\t\r\n")


def _check_name(value: str) -> str:
    # Refused, not trimmed: values are never silently changed (docs/message-schemas.md).
    if value != value.strip() or not _NAME_FORBIDDEN.isdisjoint(value):
        raise PydanticCustomError("name_format", "not a personal name / 姓名格式不正确")
    return value


PersonName = Annotated[
    str,
    Field(min_length=1, max_length=50),
    AfterValidator(_check_name),
]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
