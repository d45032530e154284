"""The standard's error format: a list of {field path, rule, message}.

Every rejection names the field by its dotted path (``subject.id_number``,
``body.details.birth_order``, ``items.3.recipient``), the rule that failed (a stable,
machine-readable code such as ``id_checksum``) and a message for people. Messages never
repeat the rejected value: a wrong ID number or name must not leak into logs or replies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One violated rule at one field path."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}

    def under(self, prefix: str) -> FieldError:
        """The same error inside a list (``messages.3``, ``records.0``): ``$`` becomes the
        item's own path."""
        field = prefix if self.field == "$" else f"{prefix}.{self.field}"
        return FieldError(field, self.rule, self.message)


class ExchangeError(Exception):
    """The root of every error this project raises (the tree is drawn in gateway/errors.py).

    ``detail`` is for people (Chinese / English); ``errors`` the broken rules with their field
    paths; ``context`` safe identifiers (a message id, a code, a file name), never personal
    data. Each package raises its own subclasses and says only what kind of failure it is
    (``kind``: invalid, not_found, conflict, unavailable, internal) and its ``title``; the
    service maps them all to RFC 9457 problem details in one place (gateway/errors.py).
    """

    kind: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error / 内部错误"
    slug: ClassVar[str] = "internal"

    def __init__(
        self, detail: str, *, errors: list[FieldError] | None = None, **context: str
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[FieldError] = errors or []
        self.context = context


class InvalidMessage(ExchangeError, ValueError):
    """A message broke the standard; ``errors`` lists every violation found."""

    kind = "invalid"
    title = "Message does not conform to the standard / 报文不符合标准"
    slug = "message-invalid"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} rule(s) violated", errors=errors)


def dotted(loc: Sequence[int | str]) -> str:
    """``subject.id_number``, ``items.3.recipient``; ``$`` for the document itself."""
    return ".".join(str(part) for part in loc) or "$"


# Pydantic's own messages sometimes quote the input; these rules get a value-free message.
_SAFE_MESSAGES: dict[str, str] = {
    "extra_forbidden": "unknown field / 不允许的字段",
    "missing": "field required / 必填字段缺失",
    "literal_error": "value not allowed / 取值不在允许范围内",
    "enum": "value not allowed / 取值不在允许范围内",
    "union_tag_invalid": "unknown discriminator value / 类别代码无效",
    "union_tag_not_found": "discriminator field missing / 缺少类别字段",
    "json_invalid": "malformed JSON / JSON 格式错误",
    "string_pattern_mismatch": "wrong format / 格式不正确",
}


# Some pydantic messages quote a fragment of the input between backticks; drop it.
_QUOTED = re.compile(r"`[^`]*`")

LocCleaner = Callable[[tuple[int | str, ...], str], str]


def from_validation_error(
    exc: ValidationError, clean: LocCleaner = lambda loc, _rule: dotted(loc)
) -> list[FieldError]:
    """Convert a pydantic ValidationError without ever including the input values.

    ``clean`` turns pydantic's location (which holds union tags) into the field path.
    """
    seen: set[tuple[str, str]] = set()
    out: list[FieldError] = []
    for detail in exc.errors(include_input=False, include_url=False, include_context=False):
        rule = detail["type"]
        err = FieldError(
            field=clean(tuple(detail["loc"]), rule),
            rule=rule,
            message=_SAFE_MESSAGES.get(rule) or _QUOTED.sub("`…`", detail["msg"]),
        )
        if (err.field, err.rule) not in seen:
            seen.add((err.field, err.rule))
            out.append(err)
    return out
