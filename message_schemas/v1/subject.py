"""The person a message is about (当事人)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from message_schemas.idnumber import birth_date_of, sex_of
from message_schemas.v1.types import (
    STRICT,
    Address,
    Code,
    DivisionCode,
    IdNumberStr,
    PersonName,
    StdDate,
    VillageCode,
)

Sex = Annotated[str, Code("sex")]
MaritalStatus = Annotated[str, Code("marital_status")]


class Subject(BaseModel):
    """Who the message is about. Field order matters: sex and birth_date are checked
    against id_number, which is validated first."""

    model_config = STRICT

    name: PersonName = Field(title="姓名 / name")
    id_number: IdNumberStr | None = Field(default=None, title="公民身份号码 / ID number")
    sex: Sex | None = None
    birth_date: StdDate | None = Field(default=None, title="出生日期 / date of birth")
    hukou_address: Address | None = Field(default=None, title="户籍地详细地址 / household address")
    hukou_code: DivisionCode | None = Field(default=None, title="户籍地区划代码")
    residence_address: Address | None = Field(default=None, title="现居住地详细地址 / residence")
    residence_code: DivisionCode | None = Field(default=None, title="现居住地区划代码")
    marital_status: MaritalStatus | None = None

    @field_validator("sex")
    @classmethod
    def _sex_agrees(cls, value: str | None, info: ValidationInfo) -> str | None:
        number = info.data.get("id_number")
        if value is not None and number and sex_of(number) != value:
            raise PydanticCustomError(
                "sex_mismatch", "does not agree with the ID number / 与身份证号码不符"
            )
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_date_agrees(cls, value: date | None, info: ValidationInfo) -> date | None:
        number = info.data.get("id_number")
        if value is not None and number and birth_date_of(number) != value:
            raise PydanticCustomError(
                "birth_date_mismatch", "does not agree with the ID number / 与身份证号码不符"
            )
        return value


class NotifiedSubject(Subject):
    """A notification's subject: the regulation forbids leaving out the name, the ID number
    and the detailed household address down to village/community level."""

    id_number: IdNumberStr = Field(title="公民身份号码 / ID number")
    hukou_address: Address = Field(title="户籍地详细地址（到村居）/ household address")
    hukou_code: VillageCode = Field(title="户籍地村（居）级区划代码 / 12-digit hukou code")


class QueriedSubject(Subject):
    """A query or assist request must identify the person: an ID number, or a date of birth
    beside the name when the number is unknown."""

    @model_validator(mode="before")
    @classmethod
    def _identifiable(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id_number") and not data.get("birth_date"):
            raise PydanticCustomError(
                "subject_unidentified",
                "give id_number, or birth_date beside the name "
                "/ 须提供身份证号码，或姓名加出生日期",
            )
        return data
