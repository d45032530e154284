"""The envelope (报文信封) and the six message types of schema_version 1.0.

One model per ``type``; ``Message`` is their union tagged by ``type``. Notifications, queries
and assist requests need a subject and must not be replies; the three reply types need
``in_reply_to`` (the gateway sends them to the sender of that message).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from message_schemas.codes import covers
from message_schemas.v1.bodies import (
    AssistReplyBody,
    AssistRequestBody,
    FeedbackBody,
    QueryBody,
    QueryReplyBody,
)
from message_schemas.v1.notification import NotificationBody
from message_schemas.v1.subject import NotifiedSubject, QueriedSubject, Subject
from message_schemas.v1.types import DivisionCode, StdDateTime


class Envelope(BaseModel):
    """Fields common to every message. Order matters: later validators read earlier fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: UUID = Field(title="报文编号（幂等键）/ message id, the idempotency key")
    schema_version: Literal["1.0"] = Field(title="标准版本 / schema version")
    sender: DivisionCode = Field(title="发送地区划代码 / sending jurisdiction")
    sender_unit: DivisionCode | None = Field(
        default=None, title="发送单位区划代码（发送地及以下）/ sending unit, under sender"
    )
    recipient: DivisionCode | None = Field(
        default=None, title="接收地区划代码 / receiving jurisdiction"
    )
    created_at: StdDateTime = Field(title="创建时间（含时区）/ created at, with offset")

    @field_validator("sender_unit")
    @classmethod
    def _unit_under_sender(cls, value: str | None, info: ValidationInfo) -> str | None:
        sender = info.data.get("sender")
        if value is not None and sender is not None and not covers(sender, value):
            raise PydanticCustomError(
                "sender_unit_outside",
                "sender_unit must lie under sender / 发送单位须在发送地辖区内",
            )
        return value


class Notification(Envelope):
    """通报：现居住地向户籍地通报 / residence notifies origin."""

    type: Literal["notification"]
    in_reply_to: None = None
    subject: NotifiedSubject
    body: NotificationBody


class Feedback(Envelope):
    """反馈：户籍地核实后反馈 / origin's feedback on a notification."""

    type: Literal["feedback"]
    in_reply_to: UUID = Field(title="所答复的通报编号 / the notification answered")
    subject: Subject | None = None
    body: FeedbackBody


class Query(Envelope):
    """查询 / query."""

    type: Literal["query"]
    in_reply_to: None = None
    subject: QueriedSubject
    body: QueryBody


class QueryReply(Envelope):
    """查询答复 / query reply."""

    type: Literal["query_reply"]
    in_reply_to: UUID = Field(title="所答复的查询编号 / the query answered")
    subject: Subject | None = None
    body: QueryReplyBody


class AssistRequest(Envelope):
    """协查通知单 / assist request."""

    type: Literal["assist_request"]
    in_reply_to: None = None
    subject: QueriedSubject
    body: AssistRequestBody


class AssistReply(Envelope):
    """协查回执 / assist reply."""

    type: Literal["assist_reply"]
    in_reply_to: UUID = Field(title="所答复的协查编号 / the assist request answered")
    subject: Subject | None = None
    body: AssistReplyBody


AnyMessage = Union[Notification, Feedback, Query, QueryReply, AssistRequest, AssistReply]  # noqa: UP007
Message = Annotated[AnyMessage, Field(discriminator="type")]

MODELS: dict[str, type[Envelope]] = {
    "notification": Notification,
    "feedback": Feedback,
    "query": Query,
    "query_reply": QueryReply,
    "assist_request": AssistRequest,
    "assist_reply": AssistReply,
}
