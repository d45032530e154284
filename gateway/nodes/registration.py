"""Registering a node as one unit of work: the node row, then every message that waited for a
node and that it now covers, routed to it at once (PROTOCOL §8.2).

Used by every way a node is registered (the CLI today, the console later), so none of them
can register a node and leave its waiting messages behind. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.messages.service import Rerouted, route_waiting_for_new_node
from gateway.nodes.models import NodeRow
from gateway.nodes.push_endpoint import EndpointCheck
from gateway.nodes.service import add_node
from gateway.reference import Reference
from gateway.routing.table import RoutingTable


@dataclass(frozen=True, slots=True)
class Registered:
    row: NodeRow
    token: str  # shown once
    routed: list[Rerouted]  # waiting messages now routed to it


def register_node(
    session: Session,
    *,
    routing: RoutingTable,
    reference: Reference,
    code: str,
    name: str,
    role: str,
    endpoint: str | None,
    now: datetime,
    endpoint_check: EndpointCheck | None = None,
) -> Registered:
    row, token = add_node(
        session,
        code=code,
        name=name,
        role=role,
        endpoint=endpoint,
        now=now,
        divisions=reference.registry,
        endpoint_check=endpoint_check,
    )
    routed = route_waiting_for_new_node(session, routing, reference, now) if role == "node" else []
    return Registered(row, token, routed)
