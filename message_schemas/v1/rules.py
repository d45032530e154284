"""Rules that span levels of a message (envelope ↔ body ↔ details).

Each rule is a plain function over a structurally valid message returning the violations with
their exact field paths; ``validate.py`` runs them all after the models have passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from zoneinfo import ZoneInfo

from message_schemas.errors import FieldError
from message_schemas.v1.envelope import AnyMessage, Notification
from message_schemas.v1.notification import CATEGORIES

SHANGHAI = ZoneInfo("Asia/Shanghai")
Rule = Callable[[AnyMessage], Iterator[FieldError]]


def event_not_after_creation(msg: AnyMessage) -> Iterator[FieldError]:
    if isinstance(msg, Notification):
        created = msg.created_at.astimezone(SHANGHAI).date()
        if msg.body.event_date > created:
            yield FieldError(
                "body.event_date",
                "event_after_created",
                "event date is later than the message's creation / 事件日期晚于报文创建时间",
            )


# category → its date fields that must equal / not precede the event date (from the catalogue)
_EVENT_DATE_FIELDS: dict[str, tuple[tuple[str, bool, bool], ...]] = {
    code: tuple(
        (spec.name, spec.equals_event, spec.after_event)
        for spec in cat.fields
        if spec.type == "date" and (spec.equals_event or spec.after_event)
    )
    for code, cat in CATEGORIES.items()
}


def details_dates_match_event(msg: AnyMessage) -> Iterator[FieldError]:
    """Catalogue flags: ``equals_event`` (the detail is the event's own date, e.g. the child's
    birth date) and ``after_event`` (a date that follows it, e.g. the next check)."""
    if not isinstance(msg, Notification):
        return
    body = msg.body
    event: date = body.event_date
    for name, equals, after in _EVENT_DATE_FIELDS[body.category]:
        value = getattr(body.details, name)
        if value is None:
            continue
        path = f"body.details.{name}"
        if equals and value != event:
            yield FieldError(
                path, "event_date_mismatch", "must equal body.event_date / 须与事件日期一致"
            )
        if after and value < event:
            yield FieldError(
                path, "before_event_date", "must not precede body.event_date / 不得早于事件日期"
            )


def not_a_reply_to_itself(msg: AnyMessage) -> Iterator[FieldError]:
    if msg.in_reply_to is not None and msg.in_reply_to == msg.message_id:
        yield FieldError(
            "in_reply_to", "reply_to_self", "a message cannot answer itself / 不能答复自身"
        )


# Which rules apply to which messages (checked on every message: keep the dispatch cheap).
NOTIFICATION_RULES: tuple[Rule, ...] = (event_not_after_creation, details_dates_match_event)
REPLY_RULES: tuple[Rule, ...] = (not_a_reply_to_itself,)


def check_rules(msg: AnyMessage) -> list[FieldError]:
    if isinstance(msg, Notification):
        rules = NOTIFICATION_RULES
    elif msg.in_reply_to is not None:
        rules = REPLY_RULES
    else:
        return []
    return [err for rule in rules for err in rule(msg)]
