"""All SQL about nodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from gateway.nodes.models import NODES, NodeRow

C = NODES.c


def add(session: Session, row: NodeRow) -> NodeRow:
    session.add(row)
    session.flush()
    return row


def active_node_by_code(session: Session, code: str) -> NodeRow | None:
    """The active row of role ``node`` for a code (a supervisor at the same code is another
    row: a province office may both exchange messages and supervise)."""
    return session.execute(
        select(NodeRow).where(C.code == code, C.revoked_at.is_(None), C.role == "node")
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Receiver:
    """An active node that messages are routed (and pushed) to."""

    id: int
    code: str
    endpoint: str | None


def active_receiver(session: Session, code: str) -> Receiver | None:
    stmt = (
        select(C.id, C.code, C.endpoint)
        .where(C.code == code, C.revoked_at.is_(None), C.role == "node")
        .order_by(C.id.desc())
    )
    row = session.connection().execute(stmt).first()
    return Receiver(row.id, row.code, row.endpoint) if row is not None else None


@dataclass(frozen=True, slots=True)
class Credential:
    code: str
    name: str
    role: str


# Built once: every request authenticates, and building the statement cost more than running it.
_BY_TOKEN = select(C.code, C.name, C.role).where(
    C.token_hash == bindparam("h"), C.revoked_at.is_(None)
)


def by_token_hash(session: Session, token_hash: str) -> Credential | None:
    row = session.connection().execute(_BY_TOKEN, {"h": token_hash}).first()
    return Credential(row.code, row.name, row.role) if row is not None else None


def list_nodes(session: Session, *, include_revoked: bool = False) -> list[NodeRow]:
    stmt = select(NodeRow).order_by(C.code, C.id)
    if not include_revoked:
        stmt = stmt.where(C.revoked_at.is_(None))
    return list(session.execute(stmt).scalars())


def routing_codes(session: Session) -> dict[str, str | None]:
    """Active nodes that receive messages (supervisors and admins never do: PROTOCOL §8.2)
    → push endpoint."""
    stmt = select(C.code, C.endpoint).where(C.revoked_at.is_(None), C.role == "node")
    return {code: url for code, url in session.connection().execute(stmt)}  # noqa: C416  # Row → pair


def revoke(session: Session, code: str, now: datetime) -> int:
    result = session.connection().execute(
        update(NODES).where(C.code == code, C.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def active_token_hashes(session: Session, code: str) -> list[str]:
    """The token digests of the active rows of ``code`` (what a revocation announces)."""
    stmt = select(C.token_hash).where(C.code == code, C.revoked_at.is_(None))
    return [digest for (digest,) in session.connection().execute(stmt)]


def set_endpoint(session: Session, code: str, endpoint: str | None) -> int:
    """Change the push endpoint of the active node (role ``node``) of ``code``."""
    result = session.connection().execute(
        update(NODES)
        .where(C.code == code, C.revoked_at.is_(None), C.role == "node")
        .values(endpoint=endpoint)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class PushSecretState:
    """An active node's push secret versions (gateway/nodes/push_secret.py)."""

    id: int
    code: str
    endpoint: str | None
    version: int
    previous_version: int | None
    overlap_until: datetime | None


def push_secret_state(session: Session, code: str) -> PushSecretState | None:
    stmt = (
        select(
            C.id,
            C.code,
            C.endpoint,
            C.push_secret_version,
            C.push_secret_previous_version,
            C.push_secret_overlap_until,
        )
        .where(C.code == code, C.revoked_at.is_(None), C.role == "node")
        .order_by(C.id.desc())
    )
    row = session.connection().execute(stmt).first()
    if row is None:
        return None
    return PushSecretState(
        row.id,
        row.code,
        row.endpoint,
        row.push_secret_version,
        row.push_secret_previous_version,
        row.push_secret_overlap_until,
    )


def set_push_secret_versions(
    session: Session,
    node_id: int,
    *,
    expected_version: int,
    version: int,
    previous_version: int | None,
    overlap_until: datetime | None,
) -> bool:
    """Move the node row to ``version`` if it is still at ``expected_version`` (two operators
    rotating at once: one wins, the other is told)."""
    result = session.connection().execute(
        update(NODES)
        .where(C.id == node_id, C.push_secret_version == expected_version)
        .values(
            push_secret_version=version,
            push_secret_previous_version=previous_version,
            push_secret_overlap_until=overlap_until,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def set_paused(session: Session, node_code: str, paused: bool) -> int:
    """The operators' stop switch for pushes to a node (pull keeps working)."""
    result = session.connection().execute(
        update(NODES)
        .where(C.code == node_code, C.revoked_at.is_(None))
        .values(delivery_paused=paused)
    )
    return int(getattr(result, "rowcount", 0) or 0)
