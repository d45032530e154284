"""The gateway's error tree, in one place.

    GatewayError                      base; carries safe context (never personal data)
    ├── ItemFailed                    an unexpected error in one submitted item (500 for it)
    ├── MessageInvalid                a message broke the standard: list[FieldError]
    ├── InvalidInput                  a request other than a message is malformed (422)
    ├── PayloadTooLarge               body or batch over its limit (413)
    ├── Unauthenticated               no or unknown bearer token (401)
    ├── Forbidden                     authenticated, but not allowed for this code (403)
    ├── Conflict                      same message id with other content; answered twice (409)
    ├── ConfigurationError            settings refused at start (names the settings; exit 2)
    ├── ReferenceDataError            reference data could not be used
    │   ├── CalendarDataError         a holiday schedule file is malformed (path, line, rule)
    │   └── DivisionDataError         a division or village table file is malformed
    └── NotFound                      a thing asked for by key does not exist
        ├── UnknownDivision           a division code not in any table
        └── UnknownProfile            no adapter mapping profile of that name

Each error knows its RFC 9457 fields (``status``, ``title``, ``problem_type``) so the HTTP edge
maps them in one handler, and the CLI prints the same JSON.
"""

from __future__ import annotations

from typing import Any, ClassVar

from message_schemas.errors import FieldError

PROBLEM_BASE = "https://gateway.example/problems/"


class GatewayError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error / 内部错误"
    slug: ClassVar[str] = "internal"

    def __init__(
        self, detail: str, *, errors: list[FieldError] | None = None, **context: str
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.context = context

    @property
    def problem_type(self) -> str:
        return PROBLEM_BASE + self.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details object."""
        body: dict[str, Any] = {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.context)
        return body


class ItemFailed(GatewayError):
    """An unexpected error while deciding or writing one submitted item: it fails that item
    alone (500 for it), never the other items or requests written with it."""

    status = 500
    title = "Internal error / 内部错误"
    slug = "internal"


class MessageInvalid(GatewayError):
    status = 422
    title = "Message does not conform to the standard / 报文不符合标准"
    slug = "message-invalid"


class InvalidInput(GatewayError):
    status = 422
    title = "Invalid request / 请求无效"
    slug = "invalid-input"


class PayloadTooLarge(GatewayError):
    status = 413
    title = "Payload too large / 请求过大"
    slug = "payload-too-large"


class Unauthenticated(GatewayError):
    status = 401
    title = "Authentication required / 需要身份认证"
    slug = "unauthenticated"


class Forbidden(GatewayError):
    status = 403
    title = "Not allowed / 无权操作"
    slug = "forbidden"


class Conflict(GatewayError):
    status = 409
    title = "Conflict / 冲突"
    slug = "conflict"


class ConfigurationError(GatewayError):
    """The settings cannot be used (a secret missing or public in production, a drill clock in
    production, a secrets file unreadable): the process refuses to start. ``problems`` lists
    one line per refused setting, each naming it."""

    status = 500
    title = "Configuration refused / 配置不可用"
    slug = "configuration"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ReferenceDataError(GatewayError):
    status = 500
    title = "Reference data unusable / 参考数据不可用"
    slug = "reference-data"


class CalendarDataError(ReferenceDataError):
    status = 422
    title = "Holiday schedule file invalid / 节假日安排文件无效"
    slug = "calendar-data"


class DivisionDataError(ReferenceDataError):
    status = 422
    title = "Division table file invalid / 区划代码表文件无效"
    slug = "division-data"


class NotFound(GatewayError):
    status = 404
    title = "Not found / 未找到"
    slug = "not-found"


class UnknownDivision(NotFound):
    title = "Unknown division code / 区划代码不存在"
    slug = "unknown-division"


class UnknownProfile(NotFound):
    title = "Unknown mapping profile / 映射配置不存在"
    slug = "unknown-profile"
