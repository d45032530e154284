"""The lifecycle of a message (PROTOCOL.md §5, §8.1): its states, and every transition with
its guard. The one module that decides them: the repositories apply these transitions
(``messages.repository.apply``) and never write a lifecycle value of their own.

    state:    unmatched → routed → delivered / acknowledged → answered → closed   (or returned)
    delivery: pending → delivered | retrying → dead ;  pending/retrying/dead → pulled ;
              dead → pending (re-queued) ;  the outbox may also be cancelled
    response: not_required | awaiting → answered_on_time | answered_late ; awaiting → overdue

A transition is data: for each column it moves, the values it moves from (its guard) and the
value it moves to. A row whose value is not in the guard keeps it, so applying a transition
twice, late or to a row another event already moved is harmless (at-least-once everywhere).

``overdue`` is a fact of time, not an event: a request still awaiting its answer after
``due_at`` is overdue whether or not the sweep has written it yet, so reads compute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from message_schemas.kinds import REPLY_TYPES, REQUEST_TYPES


class State(StrEnum):
    UNMATCHED = "unmatched"
    ROUTED = "routed"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    CLOSED = "closed"
    RETURNED = "returned"


class Delivery(StrEnum):
    """The message's delivery, as the sender sees it (the outbox has its own states)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD = "dead"
    PULLED = "pulled"
    CANCELLED = "cancelled"


class Response(StrEnum):
    NOT_REQUIRED = "not_required"
    AWAITING = "awaiting"
    ANSWERED_ON_TIME = "answered_on_time"
    ANSWERED_LATE = "answered_late"
    OVERDUE = "overdue"


class Outbox(StrEnum):
    """A push's own state in the outbox (gateway/delivery)."""

    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"  # collected and acknowledged from the inbox first, or no endpoint


class Attempt(StrEnum):
    """What one push attempt's row records."""

    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    SUPERSEDED = "superseded"  # another worker settled the push first


OPEN_OUTBOX = (Outbox.PENDING, Outbox.RETRYING)
# what an attempt's row says when it settled the push in this outbox state
ATTEMPT_OF = {
    Outbox.DELIVERED: Attempt.DELIVERED,
    Outbox.RETRYING: Attempt.RETRY,
    Outbox.DEAD: Attempt.DEAD,
}

STATES = tuple(State)
DELIVERIES = tuple(Delivery)
RESPONSES = tuple(Response)

STATE_LABELS: dict[str, str] = {
    State.UNMATCHED: "待匹配",
    State.ROUTED: "已路由",
    State.DELIVERED: "已送达",
    State.ACKNOWLEDGED: "已签收",
    State.ANSWERED: "已答复",
    State.CLOSED: "已办结",
    State.RETURNED: "已退回",
}
RESPONSE_LABELS: dict[str, str] = {
    Response.NOT_REQUIRED: "无需答复",
    Response.AWAITING: "待答复",
    Response.ANSWERED_ON_TIME: "按时答复",
    Response.ANSWERED_LATE: "超时答复",
    Response.OVERDUE: "已超期",
}


@dataclass(frozen=True, slots=True)
class Move:
    """One column's change: a value in ``when`` becomes ``to``; any other value stays."""

    when: frozenset[str]
    to: str

    def of(self, value: str) -> str:
        return self.to if value in self.when else value


@dataclass(frozen=True, slots=True)
class Transition:
    name: str
    state: Move | None = None
    delivery: Move | None = None

    def moves(self) -> dict[str, Move]:
        """Column name → its move (only the columns this transition touches)."""
        out = {}
        if self.state is not None:
            out["state"] = self.state
        if self.delivery is not None:
            out["delivery"] = self.delivery
        return out


def _move(when: set[State] | set[Delivery], to: State | Delivery) -> Move:
    return Move(frozenset(str(v) for v in when), str(to))


_NOT_PULLED = set(Delivery) - {Delivery.PULLED}

# A node with no node yet (no_node) got one: the message is in its inbox from now.
ROUTE = Transition("routed", state=_move({State.UNMATCHED}, State.ROUTED))
# The node collected it from its inbox (first collection counts as delivery by pull).
PULL = Transition(
    "pulled",
    state=_move({State.ROUTED}, State.DELIVERED),
    delivery=_move({Delivery.PENDING, Delivery.RETRYING, Delivery.DEAD}, Delivery.PULLED),
)
# A push was answered 2xx.
PUSH_DELIVERED = Transition(
    "push delivered",
    state=_move({State.ROUTED}, State.DELIVERED),
    delivery=_move(set(Delivery), Delivery.DELIVERED),
)
# A push failed and will be tried again / was given up: a message the node already pulled
# stays "pulled" (it has reached the node).
PUSH_RETRYING = Transition("push retrying", delivery=_move(_NOT_PULLED, Delivery.RETRYING))
PUSH_DEAD = Transition("push dead", delivery=_move(_NOT_PULLED, Delivery.DEAD))
# An operator re-queued a dead push.
REQUEUE = Transition("re-queued", delivery=_move({Delivery.DEAD}, Delivery.PENDING))
# The node acknowledged receipt.
ACKNOWLEDGE = Transition(
    "acknowledged", state=_move({State.ROUTED, State.DELIVERED}, State.ACKNOWLEDGED)
)
# The request was answered (a transferred feedback also closes it: the forward is a new one).
ANSWER = Transition("answered", state=_move(set(State) - {State.CLOSED}, State.ANSWERED))
ANSWER_AND_CLOSE = Transition("answered and closed", state=_move(set(State), State.CLOSED))
# The asker acknowledged the answer: the request is done.
CLOSE_ON_ACK = Transition("closed", state=_move({State.ANSWERED}, State.CLOSED))

PUSH_OUTCOME = {
    Outbox.DELIVERED: PUSH_DELIVERED,
    Outbox.RETRYING: PUSH_RETRYING,
    Outbox.DEAD: PUSH_DEAD,
}


def needs_answer(message_type: str) -> bool:
    return message_type in REQUEST_TYPES


def answers(reply_type: str) -> str | None:
    """The request type a reply type answers (feedback → notification), None for requests."""
    return REPLY_TYPES.get(reply_type)


def closes_request_on_ack(message_type: str) -> bool:
    """Acknowledging a reply closes the request it answers (the asker has the answer)."""
    return message_type in REPLY_TYPES


def initial_state(routed: bool) -> State:
    return State.ROUTED if routed else State.UNMATCHED


def initial_response(message_type: str) -> Response:
    return Response.AWAITING if needs_answer(message_type) else Response.NOT_REQUIRED


def effective_response(response: str, due_at: datetime | None, now: datetime) -> str:
    if response == Response.AWAITING and due_at is not None and now > due_at:
        return Response.OVERDUE
    return response


def answered_response(answered_at: datetime, due_at: datetime | None) -> Response:
    """On time when the gateway accepted the answer at or before ``due_at``."""
    if due_at is None or answered_at <= due_at:
        return Response.ANSWERED_ON_TIME
    return Response.ANSWERED_LATE
