"""What push delivery does as one unit of work with the messages' lifecycle: record attempt
outcomes, re-queue dead pushes. Each repository writes its own tables; the message's lifecycle
follows through the messages service, in the same transaction. The caller commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.delivery import repository
from gateway.delivery.repository import Outcome
from gateway.messages import service as messages
from gateway.messages.lifecycle import Outbox


def record_outcomes(
    session: Session, outcomes: Sequence[Outcome], *, owner: str, now: datetime
) -> list[Outcome]:
    """Write the attempts and settle the pushes ``owner`` still holds; the messages follow."""
    settled = repository.record(session, outcomes, owner=owner, now=now)
    messages.follow_push(session, [(o.message_id, Outbox(o.state)) for o in settled], now)
    return settled


def requeue(
    session: Session,
    *,
    now: datetime,
    message_ids: Sequence[str] = (),
    node_code: str | None = None,
    all_dead: bool = False,
) -> list[str]:
    """Dead pushes back to pending with a fresh give-up window; their messages follow."""
    ids = repository.requeue(
        session, now=now, message_ids=message_ids, node_code=node_code, all_dead=all_dead
    )
    messages.requeued(session, ids)
    return ids
