"""The lifecycle of a message (PROTOCOL.md §5) as plain data and functions.

    state:    unmatched → routed → delivered / acknowledged → answered → closed   (or returned)
    delivery: pending → delivered | retrying → dead ;  pending → pulled (collected from inbox)
    response: not_required | awaiting → answered_on_time | answered_late ; awaiting → overdue

``overdue`` is a fact of time, not an event: a request still awaiting its answer after
``due_at`` is overdue whether or not the sweep has written it yet, so reads compute it.
"""

from __future__ import annotations

from datetime import datetime

from message_schemas.kinds import REPLY_TYPES, REQUEST_TYPES

STATES = ("unmatched", "routed", "delivered", "acknowledged", "answered", "closed", "returned")
DELIVERIES = ("pending", "delivered", "retrying", "dead", "pulled")
RESPONSES = ("not_required", "awaiting", "answered_on_time", "answered_late", "overdue")

STATE_LABELS = {
    "unmatched": "待匹配",
    "routed": "已路由",
    "delivered": "已送达",
    "acknowledged": "已签收",
    "answered": "已答复",
    "closed": "已办结",
    "returned": "已退回",
}
RESPONSE_LABELS = {
    "not_required": "无需答复",
    "awaiting": "待答复",
    "answered_on_time": "按时答复",
    "answered_late": "超时答复",
    "overdue": "已超期",
}


def needs_answer(message_type: str) -> bool:
    return message_type in REQUEST_TYPES


def answers(reply_type: str) -> str | None:
    """The request type a reply type answers (feedback → notification), None for requests."""
    return REPLY_TYPES.get(reply_type)


def initial_response(message_type: str) -> str:
    return "awaiting" if needs_answer(message_type) else "not_required"


def effective_response(response: str, due_at: datetime | None, now: datetime) -> str:
    if response == "awaiting" and due_at is not None and now > due_at:
        return "overdue"
    return response


def answered_response(answered_at: datetime, due_at: datetime | None) -> str:
    """On time when the gateway accepted the answer at or before ``due_at``."""
    if due_at is None or answered_at <= due_at:
        return "answered_on_time"
    return "answered_late"
