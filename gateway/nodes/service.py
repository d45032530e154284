"""Registering, listing, revoking and authenticating nodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from gateway.divisions.registry import get_registry
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.nodes import repository
from gateway.nodes.models import ROLES, NodeRow
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


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "endpoint must be an http(s) URL / 推送地址须为 http(s) URL",
            errors=[FieldError("endpoint", "url_format", "not an http(s) URL / 不是 http(s) 地址")],
        )


def add_node(
    session: Session,
    *,
    code: str,
    name: str,
    role: str,
    endpoint: str | None,
    now: datetime,
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
        problem = get_registry().check_code(code)
        if problem is not None:
            problems.append(FieldError("code", problem.rule, problem.message))
    if role not in ROLES:
        problems.append(FieldError("role", "code_unknown", f"role must be one of {ROLES}"))
    if not name.strip():
        problems.append(FieldError("name", "missing", "name required / 名称必填"))
    if problems:
        raise InvalidInput("node not registered / 节点未注册", errors=problems)
    if endpoint is not None:
        _check_endpoint(endpoint)
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
    """The active node (role ``node``: the one pushed to) for ``code`` and its push secret."""
    receiver = repository.active_receiver(session, code)
    if receiver is None:
        raise NotFound(f"no active node for {code} / 无在用节点", code=code)
    return receiver, push_secret(signing_key, receiver.id, receiver.code)


def revoke_node(session: Session, code: str, now: datetime) -> int:
    count = repository.revoke(session, code, now)
    if count == 0:
        raise NotFound(f"no active node for {code} / 无在用节点", code=code)
    return count


def authenticate(session: Session, token: str) -> Principal | None:
    return authenticate_digest(session, token_hash(token))


def authenticate_digest(session: Session, digest: str) -> Principal | None:
    row = repository.by_token_hash(session, digest)
    if row is None:
        return None
    return Principal(code=row.code, name=row.name, role=row.role)
