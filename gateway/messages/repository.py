"""All SQL about messages, their obligations, the inbox and collection days.

Bulk paths (ingest of a batch) use Core ``insert``/``update`` with executemany so a batch of a
thousand messages costs a handful of round trips. Services pass a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.messages import lifecycle
from gateway.messages.models import MESSAGES, NODE_ACCESS, MessageRow

T = MESSAGES
C = T.c


def apply(transition: lifecycle.Transition) -> dict[str, Any]:
    """The SET clause of a lifecycle transition: each column it moves takes the new value
    where the old one is in the guard, and keeps its value otherwise."""
    return {
        column: case((C[column].in_(sorted(move.when)), move.to), else_=C[column])
        for column, move in transition.moves().items()
    }


@dataclass(frozen=True, slots=True)
class Stored:
    """What ingest needs to know about a message already stored."""

    message_id: str
    type: str
    sender: str
    sender_node: str
    recipient: str | None
    node_code: str | None
    content_hash: str
    accepted_state: str
    state: str
    response: str
    due_at: datetime | None
    due_provisional: bool
    answer_id: str | None
    unmatched_reason: str | None
    person_key: str | None
    event_date: date | None
    submitted_on_time: bool | None
    receipt: str | None
    # the envelope, sealed (or plaintext in a row from before migration 0005)
    envelope: str | None
    sealed_envelope: bytes | None
    data_key: bytes | None
    kek_id: str | None


_STORED_COLS = (
    C.message_id,
    C.type,
    C.sender,
    C.sender_node,
    C.recipient,
    C.node_code,
    C.content_hash,
    C.accepted_state,
    C.state,
    C.response,
    C.due_at,
    C.due_provisional,
    C.answer_id,
    C.unmatched_reason,
    C.person_key,
    C.event_date,
    C.submitted_on_time,
    C.receipt,
    C.envelope,
    C.sealed_envelope,
    C.data_key,
    C.kek_id,
)
_CHUNK = 500  # bound the size of IN (...) lists
# Built once: constructing a statement per call cost more than running it (profiled).
# Core statements run on session.connection(): the ORM execution path adds nothing for them.
_FIND_STORED = select(*_STORED_COLS).where(C.message_id.in_(bindparam("ids", expanding=True)))


def find_stored(session: Session, message_ids: Iterable[str]) -> dict[str, Stored]:
    ids = list(dict.fromkeys(message_ids))
    found: dict[str, Stored] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in session.connection().execute(_FIND_STORED, {"ids": chunk}):
            found[row.message_id] = Stored(**row._asdict())
    return found


_INSERT = insert(T)


def insert_messages(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany for the whole batch (measured: the driver-level alternative, binding
    pre-converted tuples, gained only ~10% on SQLite and was not worth its special cases)."""
    if rows:
        session.connection().execute(_INSERT, list(rows))


def record_answers(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Close obligations: each dict has b_id, state, response, answered_at, answer_id, closed_at."""
    if updates:
        session.connection().execute(_RECORD_ANSWER, list(updates))


_RECORD_ANSWER = (
    update(T)
    .where(C.message_id == bindparam("b_id"))
    .values(
        state=bindparam("state"),
        response=bindparam("response"),
        answered_at=bindparam("answered_at"),
        answer_id=bindparam("answer_id"),
        closed_at=bindparam("closed_at"),
    )
)


def get_message(session: Session, message_id: str) -> MessageRow | None:
    return session.execute(
        select(MessageRow).where(C.message_id == message_id)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class InboxItem:
    seq: int
    message_id: str
    type: str
    recipient: str | None
    in_reply_to: str | None
    forwarded_from: str | None
    available_at: datetime | None
    due_at: datetime | None
    due_provisional: bool
    delivery: str
    envelope: str | None
    sealed_envelope: bytes | None
    data_key: bytes | None
    kek_id: str | None


def inbox(session: Session, node_code: str, after: int, limit: int) -> list[InboxItem]:
    stmt = (
        select(
            C.seq,
            C.message_id,
            C.type,
            C.recipient,
            C.in_reply_to,
            C.forwarded_from,
            C.available_at,
            C.due_at,
            C.due_provisional,
            C.delivery,
            C.envelope,
            C.sealed_envelope,
            C.data_key,
            C.kek_id,
        )
        .where(C.node_code == node_code, C.acknowledged_at.is_(None), C.seq > after)
        .order_by(C.seq)
        .limit(limit)
    )
    return [InboxItem(**row._asdict()) for row in session.connection().execute(stmt)]


def mark_pulled(session: Session, message_ids: Sequence[str], now: datetime) -> None:
    """First collection from the inbox counts as delivery by pull (lifecycle.PULL)."""
    if not message_ids:
        return
    pull = lifecycle.PULL
    assert pull.delivery is not None
    session.connection().execute(
        update(T)
        .where(C.message_id.in_(message_ids), C.delivery.in_(sorted(pull.delivery.when)))
        .values(delivered_at=func.coalesce(C.delivered_at, now), **apply(pull))
    )


def acknowledge(session: Session, node_code: str, message_id: str, now: datetime) -> Stored | None:
    """Set acknowledged_at once (idempotent); None when the message is not in this inbox."""
    stored = find_stored(session, [message_id]).get(message_id)
    if stored is None or stored.node_code != node_code:
        return None
    session.connection().execute(
        update(T)
        .where(C.message_id == message_id, C.acknowledged_at.is_(None))
        .values(
            acknowledged_at=now,
            delivered_at=func.coalesce(C.delivered_at, now),
            **apply(lifecycle.ACKNOWLEDGE),
        )
    )
    return stored


def acknowledged_at(session: Session, message_id: str) -> datetime | None:
    return (
        session.connection()
        .execute(select(C.acknowledged_at).where(C.message_id == message_id))
        .scalar_one_or_none()
    )


def close_answered(session: Session, request_id: str, now: datetime) -> None:
    """The asker acknowledged the answer: the request is done (lifecycle.CLOSE_ON_ACK)."""
    close = lifecycle.CLOSE_ON_ACK
    assert close.state is not None
    session.connection().execute(
        update(T)
        .where(C.message_id == request_id, C.state.in_(sorted(close.state.when)))
        .values(closed_at=now, **apply(close))
    )


def record_access(session: Session, node_code: str, day: date, now: datetime) -> None:
    """Remember that a node collected its inbox on a local day (insert once per day)."""
    values = {"node_code": node_code, "day": day, "first_at": now}
    table = NODE_ACCESS
    if session.get_bind().dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).values(values).on_conflict_do_nothing()
    session.connection().execute(stmt)


def mark_overdue(session: Session, now: datetime) -> int:
    """Write down the obligations whose deadline has passed unanswered (the sweep)."""
    result = session.connection().execute(
        update(T)
        .where(C.response == lifecycle.Response.AWAITING, C.due_at < now)
        .values(response=lifecycle.Response.OVERDUE)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def reply_target(session: Session, reply_id: str) -> str | None:
    return (
        session.connection()
        .execute(select(C.in_reply_to).where(C.message_id == reply_id))
        .scalar_one_or_none()
    )


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    message_id: str
    type: str
    kind: str | None
    available_at: datetime


def provisional_open(session: Session) -> list[OpenDeadline]:
    """Obligations still open whose deadline was counted on a provisional calendar."""
    stmt = select(C.message_id, C.type, C.kind, C.available_at).where(
        C.due_provisional.is_(True),
        C.response.in_((lifecycle.Response.AWAITING, lifecycle.Response.OVERDUE)),
        C.available_at.is_not(None),
    )
    return [OpenDeadline(*row) for row in session.connection().execute(stmt)]


def set_deadlines(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Each dict: b_id, due_at, due_provisional, response."""
    if updates:
        stmt = (
            update(T)
            .where(C.message_id == bindparam("b_id"))
            .values(
                due_at=bindparam("due_at"),
                due_provisional=bindparam("due_provisional"),
                response=bindparam("response"),
            )
        )
        session.connection().execute(stmt, list(updates))


# -- routing what waits for a node (PROTOCOL §8.2) ----------------------------------------------

# Any fixed 64-bit number: the key of the advisory lock that orders node registration against
# submissions left waiting for a node.
_ROUTING_LOCK_KEY = 0x6777_726F_7574_6531  # "gwroute1"


def lock_routing(session: Session, *, exclusive: bool) -> None:
    """Order a node registration (exclusive) against writers of ``no_node`` messages (shared)
    until the end of the transaction, so that one of them sees the other's rows: either the
    registration finds the committed waiting message, or the writer finds the committed node.
    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do, since both hold the
    database's single write lock once they have written (the caller has)."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.connection().execute(select(getattr(func, function)(_ROUTING_LOCK_KEY)))


@dataclass(frozen=True, slots=True)
class Waiting:
    message_id: str
    type: str
    kind: str | None
    recipient: str
    accepted_at: datetime


def waiting_for_node(session: Session, only: Sequence[str] | None = None) -> list[Waiting]:
    """Messages unmatched because no node covered their code (``only``: among these ids)."""
    stmt = select(C.message_id, C.type, C.kind, C.recipient, C.accepted_at).where(
        C.state == lifecycle.State.UNMATCHED,
        C.unmatched_reason == "no_node",
        C.recipient.is_not(None),
    )
    if only is not None:
        stmt = stmt.where(C.message_id.in_(list(only)))
    return [Waiting(*row) for row in session.connection().execute(stmt.order_by(C.seq))]


_MARK_ROUTED = (
    update(T)
    .where(C.message_id == bindparam("b_id"), C.state == lifecycle.State.UNMATCHED)
    .values(
        node_code=bindparam("node_code"),
        state=lifecycle.ROUTE.moves()["state"].to,
        accepted_state=lifecycle.ROUTE.moves()["state"].to,
        unmatched_reason=None,
        available_at=bindparam("available_at"),
        due_at=bindparam("due_at"),
        due_provisional=bindparam("due_provisional"),
    )
)


def mark_routed(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Waiting messages now routed: each dict has b_id, node_code, available_at, due_at,
    due_provisional."""
    if updates:
        session.connection().execute(_MARK_ROUTED, list(updates))


# -- following the push delivery (gateway/delivery tells, in the same unit of work) ----------


def follow_push(
    session: Session, outcomes: Sequence[tuple[str, lifecycle.Outbox]], now: datetime
) -> None:
    """The message's own delivery columns follow its push (PROTOCOL §5): each settled attempt
    applies the lifecycle transition of the outbox state it reached."""
    conn = session.connection()
    for message_id, state in outcomes:
        transition = lifecycle.PUSH_OUTCOME[state]
        values = apply(transition)
        if state == lifecycle.Outbox.DELIVERED:
            values["delivered_at"] = func.coalesce(C.delivered_at, now)
        conn.execute(update(T).where(C.message_id == message_id).values(**values))


def requeued(session: Session, message_ids: Sequence[str]) -> None:
    """Dead pushes were re-queued by an operator (lifecycle.REQUEUE)."""
    if message_ids:
        requeue = lifecycle.REQUEUE
        assert requeue.delivery is not None
        session.connection().execute(
            update(T)
            .where(
                C.message_id.in_(list(message_ids)), C.delivery.in_(sorted(requeue.delivery.when))
            )
            .values(**apply(requeue))
        )


# -- the keys of the sealed envelopes (gateway.messages.keys) ----------------------------------


def kek_counts(session: Session) -> dict[str | None, int]:
    """Messages per key-encryption key (None: purged, or plaintext from before 0005)."""
    stmt = select(C.kek_id, func.count()).group_by(C.kek_id)
    return {kek: int(n) for kek, n in session.connection().execute(stmt)}


@dataclass(frozen=True, slots=True)
class WrappedKey:
    seq: int
    message_id: str
    kek_id: str
    data_key: bytes


def data_keys_after(session: Session, after: int, limit: int) -> list[WrappedKey]:
    """The next ``limit`` wrapped data keys in ``seq`` order after ``after``, whatever key
    wraps them (the caller skips those already under the active one). A walk along the
    primary key costs the same for every batch: selecting by kek_id made PostgreSQL choose
    the kek_id index and sort all the rows still under the old key, batch after batch
    (1,581 rows/s over a million rows)."""
    stmt = (
        select(C.seq, C.message_id, C.kek_id, C.data_key)
        .where(C.seq > after, C.data_key.is_not(None))
        .order_by(C.seq)
        .limit(limit)
    )
    return [WrappedKey(*row) for row in session.connection().execute(stmt)]


_SET_DATA_KEY = (
    update(T)
    .where(C.seq == bindparam("b_seq"), C.kek_id == bindparam("b_old"))
    .values(kek_id=bindparam("b_new"), data_key=bindparam("b_key"))
)


def set_data_keys(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Re-wrapped data keys: each dict has b_id, b_seq, b_old (the key it was under), b_new,
    b_key. A row changed meanwhile (purged) is left alone."""
    if updates:
        session.connection().execute(_SET_DATA_KEY, list(updates))


# -- retention (gateway.messages.retention) ------------------------------------------------


def purgeable(
    session: Session,
    *,
    message_type: str | None,
    types: Sequence[str] | None,
    state: str,
    since: str,
    before: datetime,
    limit: int,
) -> list[str]:
    """Ids of messages in ``state`` finished (column ``since``) before ``before``, not yet
    purged, whose obligation (if any) is not open."""
    stmt = (
        select(C.message_id)
        .where(
            C.state == state,
            C[since] < before,
            C.purged_at.is_(None),
            C.response.not_in((lifecycle.Response.AWAITING, lifecycle.Response.OVERDUE)),
        )
        .limit(limit)
    )
    if message_type is not None:
        stmt = stmt.where(C.type == message_type)
    if types is not None:
        stmt = stmt.where(C.type.in_(list(types)))
    return [row[0] for row in session.connection().execute(stmt)]


def purge(session: Session, message_ids: Sequence[str], now: datetime) -> int:
    """Crypto-shred: the data key and the ciphertext go; every other column stays."""
    if not message_ids:
        return 0
    result = session.connection().execute(
        update(T)
        .where(C.message_id.in_(list(message_ids)), C.purged_at.is_(None))
        .values(data_key=None, sealed_envelope=None, envelope=None, kek_id=None, purged_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
