"""Registering, listing, revoking and authenticating nodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway.divisions.registry import DivisionRegistry
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.nodes import push_endpoint, repository
from gateway.nodes.models import ROLES, NodeRow
from gateway.nodes.push_endpoint import EndpointCheck
from gateway.nodes.push_secret import push_secret
from gateway.nodes.tokens import new_token, token_hash
from gateway.routing.table import NATIONAL, covers
from message_schemas.errors import FieldError


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated node, with what it may do."""

    code: str
    name: str
    role: str

    def covers(self, code: str | None) -> bool:
        return code is not None and covers(self.code, code)


def _check_endpoint(endpoint: str, check: EndpointCheck | None) -> None:
    """The URL rules always; the address rules when ``check`` is given (the CLI gives the
    configured one; None is for tests and tools that register loopback receivers)."""
    if check is None:
        push_endpoint.check_endpoint(endpoint, None, 0)
    else:
        check(endpoint)


def add_node(
    session: Session,
    *,
    code: str,
    name: str,
    role: str,
    endpoint: str | None,
    now: datetime,
    divisions: DivisionRegistry,
    endpoint_check: EndpointCheck | None = None,
) -> tuple[NodeRow, str]:
    """Register a node; returns the row and its token (the only time the token exists)."""
    problems: list[FieldError] = []
    if code == NATIONAL:
        if role == "node":
            problems.append(
                FieldError(
                    "code",
                    "national_not_a_node",
                    "000000 (the nation) is for supervisors and admins "
                    "/ 全国代码仅用于监管与管理员",
                )
            )
    else:
        problem = divisions.check_code(code)
        if problem is not None:
            problems.append(FieldError("code", problem.rule, problem.message))
    if role not in ROLES:
        problems.append(FieldError("role", "code_unknown", f"role must be one of {ROLES}"))
    if not name.strip():
        problems.append(FieldError("name", "missing", "name required / 名称必填"))
    if problems:
        raise InvalidInput("node not registered / 节点未注册", errors=problems)
    if endpoint is not None:
        _check_endpoint(endpoint, endpoint_check)
    if role == "node" and repository.active_node_by_code(session, code) is not None:
        raise Conflict(
            f"an active node already acts for {code} / 该区划已有在用节点",
            errors=[
                FieldError("code", "node_exists", "revoke the old node first / 请先注销原节点")
            ],
        )
    token = new_token()
    row = NodeRow(
        code=code,
        name=name.strip(),
        endpoint=endpoint,
        role=role,
        token_hash=token_hash(token),
        created_at=now,
    )
    return repository.add(session, row), token


def receiver_push_secret(node_id: int | None, code: str, signing_key: str) -> str:
    """The secret the receiver of the node row ``node_id`` verifies its pushes with."""
    if node_id is None:  # pragma: no cover  # a stored (flushed) row always has its id
        raise ValueError("the node row is not stored yet")
    return push_secret(signing_key, node_id, code)


def node_push_secret(
    session: Session, code: str, signing_key: str
) -> tuple[repository.Receiver, str]:
    """The active node (role ``node``: the one pushed to) for ``code`` and its current push
    secret (node_push_secrets also gives the previous one during a rotation)."""
    state = _state(session, code)
    receiver = repository.Receiver(state.id, state.code, state.endpoint)
    return receiver, push_secret(signing_key, state.id, state.code, state.version)


def revoke_node(session: Session, code: str, now: datetime) -> int:
    return len(revoke_node_tokens(session, code, now))


def revoke_node_tokens(session: Session, code: str, now: datetime) -> list[str]:
    """Revoke every active row of ``code``; returns their token digests (for the API processes'
    caches to drop: gateway/nodes/revocation.py)."""
    digests = repository.active_token_hashes(session, code)
    count = repository.revoke(session, code, now)
    if count == 0:
        raise NotFound(f"no active node for {code} / 无在用节点", code=code)
    return digests


def set_node_endpoint(
    session: Session, code: str, endpoint: str | None, endpoint_check: EndpointCheck | None
) -> repository.Receiver:
    """Give the active node of ``code`` a new push endpoint, or none (pull only)."""
    if endpoint is not None:
        _check_endpoint(endpoint, endpoint_check)
    if repository.set_endpoint(session, code, endpoint) == 0:
        raise NotFound(f"no active node for {code} / 无在用节点", code=code)
    receiver = repository.active_receiver(session, code)
    assert receiver is not None  # just updated in this transaction
    return receiver


@dataclass(frozen=True, slots=True)
class PushSecrets:
    """An active node's push secret, and the previous one while a rotation's overlap lasts
    (pushes then carry a signature under each)."""

    code: str
    endpoint: str | None
    version: int
    secret: str
    previous_version: int | None = None
    previous_secret: str | None = None
    overlap_until: datetime | None = None


def signing_versions(
    version: int, previous: int | None, overlap_until: datetime | None, at: datetime
) -> tuple[int, ...]:
    """The versions a push at ``at`` is signed with: the current one, and the previous one
    while the overlap lasts."""
    if previous is not None and overlap_until is not None and at < overlap_until:
        return (version, previous)
    return (version,)


def _state(session: Session, code: str) -> repository.PushSecretState:
    state = repository.push_secret_state(session, code)
    if state is None:
        raise NotFound(f"no active node for {code} / 无在用节点", code=code)
    return state


def _secrets(state: repository.PushSecretState, signing_key: str, now: datetime) -> PushSecrets:
    versions = signing_versions(state.version, state.previous_version, state.overlap_until, now)
    current = push_secret(signing_key, state.id, state.code, state.version)
    if len(versions) == 1:
        return PushSecrets(state.code, state.endpoint, state.version, current)
    return PushSecrets(
        state.code,
        state.endpoint,
        state.version,
        current,
        versions[1],
        push_secret(signing_key, state.id, state.code, versions[1]),
        state.overlap_until,
    )


def node_push_secrets(session: Session, code: str, signing_key: str, now: datetime) -> PushSecrets:
    """The secrets the active node's pushes are signed with at ``now``."""
    return _secrets(_state(session, code), signing_key, now)


def rotate_push_secret(
    session: Session, code: str, signing_key: str, now: datetime, overlap: timedelta
) -> PushSecrets:
    """Move the node to a new push secret; for ``overlap`` pushes are signed with the new
    and the current one, so the receiver can switch at any moment within it. A rotation
    during an overlap drops the older of the two."""
    state = _state(session, code)
    moved = repository.set_push_secret_versions(
        session,
        state.id,
        expected_version=state.version,
        version=state.version + 1,
        previous_version=state.version if overlap > timedelta(0) else None,
        overlap_until=now + overlap if overlap > timedelta(0) else None,
    )
    if not moved:
        raise Conflict(
            f"the push secret of {code} changed meanwhile: look again "
            "/ 推送密钥刚被他人更换，请重新查看",
            code=code,
        )
    return node_push_secrets(session, code, signing_key, now)


def finish_push_secret_rotation(
    session: Session, code: str, signing_key: str, now: datetime
) -> PushSecrets:
    """End a rotation's overlap now: pushes carry the current secret's signature only."""
    state = _state(session, code)
    repository.set_push_secret_versions(
        session,
        state.id,
        expected_version=state.version,
        version=state.version,
        previous_version=None,
        overlap_until=None,
    )
    return node_push_secrets(session, code, signing_key, now)


def authenticate(session: Session, token: str) -> Principal | None:
    return authenticate_digest(session, token_hash(token))


def authenticate_digest(session: Session, digest: str) -> Principal | None:
    row = repository.by_token_hash(session, digest)
    if row is None:
        return None
    return Principal(code=row.code, name=row.name, role=row.role)


def set_delivery_paused(session: Session, code: str, paused: bool) -> int:
    """Pause or resume pushes to the active node(s) of ``code``; how many rows changed."""
    return repository.set_paused(session, code, paused)
