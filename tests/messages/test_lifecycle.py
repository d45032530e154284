"""The lifecycle as data (gateway/messages/lifecycle.py): every transition moves only from
its guard, and applying it again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.messages import lifecycle
from gateway.messages.lifecycle import Delivery, Response, State

TRANSITIONS = [
    lifecycle.ROUTE,
    lifecycle.PULL,
    lifecycle.PUSH_DELIVERED,
    lifecycle.PUSH_RETRYING,
    lifecycle.PUSH_DEAD,
    lifecycle.REQUEUE,
    lifecycle.ACKNOWLEDGE,
    lifecycle.ANSWER,
    lifecycle.ANSWER_AND_CLOSE,
    lifecycle.CLOSE_ON_ACK,
]
VOCABULARY = {"state": {str(s) for s in State}, "delivery": {str(d) for d in Delivery}}


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.name)
def test_transitions_speak_the_lifecycle_vocabulary_and_are_idempotent(
    transition: lifecycle.Transition,
) -> None:
    assert transition.moves(), "a transition moves something"
    for column, move in transition.moves().items():
        assert move.when <= VOCABULARY[column] and move.to in VOCABULARY[column]
        for value in VOCABULARY[column]:
            once = move.of(value)
            assert move.of(once) == once  # applying it again is harmless
            if value not in move.when:
                assert once == value  # outside the guard nothing moves


def test_the_rules_of_the_protocol() -> None:
    pull = lifecycle.PULL.moves()
    assert pull["state"].of(State.ROUTED) == State.DELIVERED
    assert pull["state"].of(State.ACKNOWLEDGED) == State.ACKNOWLEDGED  # no step back
    assert pull["delivery"].of(Delivery.DEAD) == Delivery.PULLED  # collected after giving up
    # a message the node pulled stays pulled whatever its push does afterwards
    for failed in (lifecycle.PUSH_RETRYING, lifecycle.PUSH_DEAD):
        assert failed.moves()["delivery"].of(Delivery.PULLED) == Delivery.PULLED
    assert lifecycle.CLOSE_ON_ACK.moves()["state"].of(State.ANSWERED) == State.CLOSED
    assert lifecycle.CLOSE_ON_ACK.moves()["state"].of(State.ROUTED) == State.ROUTED
    assert lifecycle.ANSWER.moves()["state"].of(State.CLOSED) == State.CLOSED
    assert [lifecycle.closes_request_on_ack(t) for t in ("feedback", "query", "notice")] == [
        True,
        False,
        False,
    ]


def test_responses() -> None:
    due = datetime(2026, 11, 30, 15, 59, 59, 999000, tzinfo=UTC)
    assert lifecycle.initial_response("notification") == Response.AWAITING
    assert lifecycle.initial_response("feedback") == Response.NOT_REQUIRED
    assert lifecycle.answered_response(due, due) == Response.ANSWERED_ON_TIME
    late = due + timedelta(milliseconds=1)
    assert lifecycle.answered_response(late, due) == Response.ANSWERED_LATE
    assert lifecycle.effective_response(Response.AWAITING, due, late) == Response.OVERDUE
    assert lifecycle.effective_response(Response.AWAITING, due, due) == Response.AWAITING
