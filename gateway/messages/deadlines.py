"""Re-counting deadlines once a year's official schedule is loaded (PROTOCOL.md §4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.messages import repository
from gateway.messages.lifecycle import Response
from gateway.messages.service import window_of
from gateway.reference import Reference


def recompute_provisional(session: Session, reference: Reference, now: datetime) -> int:
    """Give every open obligation counted on a provisional calendar its deadline under the
    clock now in force; an obligation whose new deadline has not passed is awaiting again."""
    updates = []
    for item in repository.provisional_open(session):
        window = window_of(reference.windows, item.type, item.kind)
        deadline = reference.clock.due_at(item.available_at, window)
        updates.append(
            {
                "b_id": item.message_id,
                "due_at": deadline.due_at,
                "due_provisional": deadline.provisional,
                "response": Response.OVERDUE if now > deadline.due_at else Response.AWAITING,
            }
        )
    repository.set_deadlines(session, updates)
    return len(updates)
