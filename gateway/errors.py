"""The one error tree of the project, and its mapping to RFC 9457 problem details.

    ExchangeError (message_schemas.errors)  root: detail, errors [{field, rule, message}], context
    ├── the standard (message_schemas)
    │   ├── InvalidMessage            a message broke the standard                    422
    │   ├── IdNumberError             a rule of GB 11643 broken (inside validation)   422
    │   └── CatalogError              a catalogue file is malformed                   500
    ├── the calendar (gateway.calendar.errors)
    │   ├── CalendarDataError         a schedule or windows file is malformed         422
    │   └── CalendarRangeError        a date outside the calendar's years             422
    ├── the divisions (gateway.divisions.errors)
    │   ├── DivisionDataError         a division/village/successor file is malformed  422
    │   └── UnknownDivision           a code in no table                              404
    ├── the adapters (adapters.errors.AdapterError)
    │   ├── ProfileError              a mapping profile malformed or unknown          404
    │   ├── ReaderError               a county export cannot be read as a table       422
    │   ├── ProfileMismatch           the export lacks the profile's required columns 422
    │   ├── ImportAborted             an import stopped; a re-run continues           503
    │   └── ClientError …             the county client (adapters/client/__init__.py)
    └── GatewayError (here)           the service's own; each knows its status
        ├── ItemFailed                an unexpected error in one submitted item       500
        ├── MessageInvalid            a message broke the standard (wraps the errors) 422
        ├── InvalidInput              a request other than a message is malformed     422
        ├── PayloadTooLarge           body or batch over its limit                    413
        ├── Unauthenticated           no or unknown bearer token                      401
        ├── Forbidden                 authenticated, but not allowed for this code    403
        ├── Conflict                  message id reused; answered twice               409
        ├── ConfigurationError        settings refused at start (exit 2)              500
        ├── SealedDataUnreadable      a stored ciphertext does not open (wrong key)   500
        └── NotFound                  a thing asked for by key does not exist         404
            └── UnknownProfile        no adapter mapping profile of that name         404

The foundation (message_schemas, gateway.calendar, gateway.divisions) and the adapters raise
their own errors and know nothing of HTTP: each says its ``kind`` (invalid, not_found, …),
``title`` and ``slug``. ``problem_of`` maps any of them to a problem object, here and only here:
the API's handlers and the CLI both call it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from message_schemas.errors import ExchangeError, FieldError

PROBLEM_BASE = "https://gateway.example/problems/"

__all__ = ["PROBLEM_BASE", "ExchangeError", "FieldError", "GatewayError", "problem_of"]


class GatewayError(ExchangeError):
    status: ClassVar[int] = 500

    @property
    def problem_type(self) -> str:
        return PROBLEM_BASE + self.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details object."""
        return problem_of(self, instance)


# What each kind of failure of the foundation and the adapters answers over HTTP.
KIND_STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "forbidden": 403,
    "unavailable": 503,
    "internal": 500,
}


def status_of(exc: ExchangeError) -> int:
    if isinstance(exc, GatewayError):
        return exc.status
    return KIND_STATUS.get(exc.kind, 500)


def problem_of(exc: ExchangeError, instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 problem object for any error of the tree (never the input's values)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + exc.slug,
        "title": exc.title,
        "status": status_of(exc),
        "detail": exc.detail,
    }
    if instance:
        body["instance"] = instance
    if exc.errors:
        body["errors"] = [e.as_dict() for e in exc.errors]
    body.update(exc.context)
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


class SealedDataUnreadable(GatewayError):
    """A stored ciphertext does not open: a key missing from the keyring, or a row altered or
    moved to another message (gateway.privacy.sealing)."""

    status = 500
    title = "Stored data cannot be decrypted / 存储数据无法解密"
    slug = "sealed-data-unreadable"


class NotFound(GatewayError):
    status = 404
    title = "Not found / 未找到"
    slug = "not-found"


class UnknownProfile(NotFound):
    title = "Unknown mapping profile / 映射配置不存在"
    slug = "unknown-profile"
