"""Bodies of feedback (反馈), query (查询), query_reply, assist_request (协查) and assist_reply.

Cross-field rules sit in field validators that read earlier fields from ``info.data``, so an
error names the exact field (``body.verified_sources``), and the optional fields that carry a
rule are validated even when absent (``validate_default``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from message_schemas.v1.types import STRICT, Code, DivisionCode, Note, Question, Remarks, Text

Outcome = Annotated[str, Code("feedback_outcome")]
Source = Annotated[str, Code("verification_source")]
Sources = Annotated[list[Source], Field(max_length=4)]


def _sources_needed(
    sources: list[str] | None, info: ValidationInfo, outcomes: frozenset[str]
) -> list[str] | None:
    if info.data.get("outcome") in outcomes and not sources:
        raise PydanticCustomError(
            "not_found_requires_sources",
            "查无此人 may only be answered after checking another department: name at least "
            "one verified source / 答复“查无此人”须注明至少一个已核查的部门",
        )
    if sources and len(set(sources)) != len(sources):
        raise PydanticCustomError("duplicate_item", "a source is listed twice / 核查来源重复")
    return sources


class Correction(BaseModel):
    """One difference between the notification and the origin's records."""

    model_config = STRICT
    field: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^(subject|body\.details)\.[a-z_]+$",
        title="字段路径 / field path, e.g. subject.marital_status",
    )
    origin_value: Note = Field(title="户籍地记录值 / value in the origin's record")
    note: Note | None = Field(default=None, title="说明 / note")


class OriginRecord(BaseModel):
    """What the origin holds about the person (all optional; only what was checked)."""

    model_config = STRICT
    marital_status: Annotated[str, Code("marital_status")] | None = None
    children: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    contraception_method: Annotated[str, Code("contraception_method")] | None = None
    certificate_type: Annotated[str, Code("certificate_type")] | None = None
    remarks: Remarks | None = None


class FeedbackBody(BaseModel):
    model_config = STRICT
    outcome: Outcome = Field(title="反馈结果 / outcome")
    verified_sources: Sources | None = Field(
        default=None, validate_default=True, title="已核查部门 / departments checked"
    )
    transferred_to: DivisionCode | None = Field(
        default=None, validate_default=True, title="迁入地区划代码 / new registration place"
    )
    corrections: list[Correction] | None = Field(
        default=None, max_length=50, validate_default=True, title="更正 / corrections"
    )
    origin_record: OriginRecord | None = Field(default=None, title="户籍地记录 / origin record")
    remarks: Remarks | None = Field(default=None, title="备注 / remarks")

    @field_validator("verified_sources")
    @classmethod
    def _not_found_sources(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _sources_needed(value, info, frozenset({"not_found"}))

    @field_validator("transferred_to")
    @classmethod
    def _transferred_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") == "transferred" and value is None:
            raise PydanticCustomError(
                "transferred_requires_target",
                "a transferred outcome needs the new registration place's division code "
                "/ 户籍已迁移须填写迁入地区划代码",
            )
        if value is not None and info.data.get("outcome") != "transferred":
            raise PydanticCustomError(
                "only_with_transferred", "only for outcome transferred / 仅“户籍已迁移”时填写"
            )
        return value

    @field_validator("corrections")
    @classmethod
    def _corrections_given(
        cls, value: list[Correction] | None, info: ValidationInfo
    ) -> list[Correction] | None:
        if info.data.get("outcome") == "corrected" and not value:
            raise PydanticCustomError(
                "corrected_requires_corrections",
                "a corrected outcome lists at least one correction / 更正须列出至少一项",
            )
        return value


class QueryBody(BaseModel):
    model_config = STRICT
    topic: Annotated[str, Code("query_topic")] = Field(title="查询类别 / topic")
    questions: list[Question] = Field(
        min_length=1,
        max_length=20,
        title="查询事项 / questions: codes of table query_question or free text",
    )
    remarks: Remarks | None = None


class QueryReplyBody(BaseModel):
    model_config = STRICT
    outcome: Annotated[str, Code("query_outcome")] = Field(title="答复结果 / outcome")
    verified_sources: Sources | None = Field(default=None, validate_default=True)
    answer: Text | None = Field(default=None, validate_default=True, title="答复内容 / answer")
    record: OriginRecord | None = None

    @field_validator("verified_sources")
    @classmethod
    def _not_found_sources(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _sources_needed(value, info, frozenset({"not_found"}))

    @field_validator("answer")
    @classmethod
    def _answer_given(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") == "answered" and not value:
            raise PydanticCustomError(
                "answered_requires_answer", "an answered query needs the answer / 须填写答复内容"
            )
        return value


class AssistRequestBody(BaseModel):
    model_config = STRICT
    action: Annotated[str, Code("assist_action")] = Field(title="协查事项 / action")
    reason: Text = Field(title="协查原因 / reason")
    urgency: Annotated[str, Code("urgency")] = Field(default="normal", title="紧急程度 / urgency")
    remarks: Remarks | None = None


class AssistReplyBody(BaseModel):
    model_config = STRICT
    outcome: Annotated[str, Code("assist_outcome")] = Field(title="协查结果 / outcome")
    verified_sources: Sources | None = Field(default=None, validate_default=True)
    result: Text = Field(title="办理情况 / result")

    @field_validator("verified_sources")
    @classmethod
    def _not_found_sources(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _sources_needed(value, info, frozenset({"not_found"}))
