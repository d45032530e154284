"""Rules that span levels of a message (envelope ↔ body ↔ details).

Each rule is a plain function over a structurally valid message returning the violations with
their exact field paths; ``validate.py`` runs them all after the models have passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from message_schemas.errors import FieldError
from message_schemas.idnumber import birth_date_of
from message_schemas.timezone import SHANGHAI
from message_schemas.v1.envelope import AnyMessage, Notification
from message_schemas.v1.notification import CATEGORIES

Rule = Callable[[AnyMessage], Iterator[FieldError]]


def created_date(msg: AnyMessage) -> date:
    """The local date (Asia/Shanghai) of ``created_at``. Safe: the model has already kept
    ``created_at`` within 2000–2099 and ±14:00, so the conversion cannot overflow."""
    return msg.created_at.astimezone(SHANGHAI).date()


def event_not_after_creation(msg: AnyMessage) -> Iterator[FieldError]:
    if isinstance(msg, Notification) and msg.body.event_date > created_date(msg):
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


def birth_not_after_creation(msg: AnyMessage) -> Iterator[FieldError]:
    """Nobody is born after the message about them was written: ``subject.birth_date``, or
    when it is absent the birth date inside ``subject.id_number``."""
    subject = msg.subject
    if subject is None:
        return
    if subject.birth_date is not None:
        path, born = "subject.birth_date", subject.birth_date
    elif subject.id_number is not None:
        path, born = "subject.id_number", birth_date_of(subject.id_number)
    else:
        return
    # The Shanghai date is at most one day off the date as written (offsets are within
    # ±14:00), so a birth before the written date needs no time-zone conversion.
    if born >= msg.created_at.date() and born > created_date(msg):
        yield FieldError(
            path,
            "date_in_future",
            "birth date is later than the message's creation / 出生日期晚于报文创建时间",
        )


def not_a_reply_to_itself(msg: AnyMessage) -> Iterator[FieldError]:
    if msg.in_reply_to is not None and msg.in_reply_to == msg.message_id:
        yield FieldError(
            "in_reply_to", "reply_to_self", "a message cannot answer itself / 不能答复自身"
        )


# Which rules apply to which messages (checked on every message: keep the dispatch cheap).
NOTIFICATION_RULES: tuple[Rule, ...] = (
    event_not_after_creation,
    details_dates_match_event,
    birth_not_after_creation,
)
REPLY_RULES: tuple[Rule, ...] = (not_a_reply_to_itself, birth_not_after_creation)
REQUEST_RULES: tuple[Rule, ...] = (birth_not_after_creation,)  # query, assist request


def check_rules(msg: AnyMessage) -> list[FieldError]:
    if isinstance(msg, Notification):
        rules = NOTIFICATION_RULES
    elif msg.in_reply_to is not None:
        rules = REPLY_RULES
    else:
        rules = REQUEST_RULES
    return [err for rule in rules for err in rule(msg)]
