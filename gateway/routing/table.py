"""The routing table (pure): registered node codes → the node for a recipient code.

A node registered for a code acts for it and everything under it. Codes nest by prefix, with
the 6-digit province and city codes padded by zeros (430000 covers 43…, 430500 covers 4305…),
so the candidates for a code are at most five: its village, township, county, city and
province prefixes, tried longest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from message_schemas.codes import NATIONAL, covers, prefixes

__all__ = ["NATIONAL", "Route", "RoutingTable", "covers", "prefixes"]

UNMATCHED_NO_NODE = "no_node"
UNMATCHED_RETIRED = "retired_without_successor"
UNMATCHED_UNKNOWN = "unknown_code"
UNMATCHED_ADDRESS = "address_unparsed"
UNMATCHED_LABELS = {
    UNMATCHED_NO_NODE: "无节点负责该区划 / no node covers this code",
    UNMATCHED_RETIRED: "区划代码已撤销且无承继代码 / retired code without successor",
    UNMATCHED_UNKNOWN: "区划代码不存在 / code not in any table",
    UNMATCHED_ADDRESS: "无区划代码且地址无法识别到县 / no code, address names no county clearly",
}


class DivisionLookup(Protocol):
    def is_retired(self, county: str) -> bool: ...
    def successor(self, code: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    node_code: str | None  # None: unmatched
    target: str  # the code routed on (the successor's when the code was retired)
    reason: str | None = None  # why unmatched


class RoutingTable:
    def __init__(
        self,
        node_codes: Iterable[str],
        divisions: DivisionLookup,
        push_nodes: Iterable[str] = (),
    ) -> None:
        self._nodes = frozenset(node_codes)
        self._divisions = divisions
        # nodes with a push endpoint: their messages also get an outbox row
        self.push_nodes = frozenset(push_nodes)

    def with_nodes(self, nodes: dict[str, str | None]) -> RoutingTable:
        """The same division look-up over another set of nodes (code → push endpoint)."""
        return RoutingTable(nodes, self._divisions, [code for code, url in nodes.items() if url])

    def __contains__(self, code: str) -> bool:
        return code in self._nodes

    def route(self, code: str) -> Route:
        target = code
        if self._divisions.is_retired(code[:6]):
            successor = self._divisions.successor(code[:6])
            if successor is None:
                return Route(None, code, UNMATCHED_RETIRED)
            target = successor
        for candidate in prefixes(target):
            if candidate in self._nodes:
                return Route(candidate, target)
        return Route(None, target, UNMATCHED_NO_NODE)
