"""The routing table alone (pure): longest registered prefix, successors of retired codes,
the reasons a code waits, and a table over other nodes."""

from __future__ import annotations

import pytest

from gateway.divisions.registry import load_registry
from gateway.routing.table import (
    UNMATCHED_NO_NODE,
    UNMATCHED_RETIRED,
    Route,
    RoutingTable,
)

REGISTRY = load_registry()
NODES = {"430000": None, "430500": None, "430582": "https://county.example/in", "430582001": None}


@pytest.mark.parametrize(
    ("code", "route"),
    [
        ("430582001201", Route("430582001", "430582001201")),  # the township node beats its county
        ("430582101210", Route("430582", "430582101210")),
        ("430503001201", Route("430500", "430503001201")),  # no county node: the city
        ("430102001201", Route("430000", "430102001201")),  # no county or city: the province
        ("430582", Route("430582", "430582")),
        ("430521101210", Route("430582", "430582")),  # retired 邵东县 → its successor
        ("430504001201", Route(None, "430504001201", UNMATCHED_RETIRED)),  # split, no successor
        ("110101001001", Route(None, "110101001001", UNMATCHED_NO_NODE)),
    ],
)
def test_routes(code: str, route: Route) -> None:
    assert RoutingTable(NODES, REGISTRY).route(code) == route


def test_push_nodes_and_a_table_over_other_nodes() -> None:
    table = RoutingTable(NODES, REGISTRY, ["430582"])
    assert table.push_nodes == frozenset({"430582"})
    fresh = table.with_nodes({"110101": "https://beijing.example/in"})
    assert fresh.route("110101001001") == Route("110101", "110101001001")
    assert fresh.push_nodes == frozenset({"110101"})
    assert "430582" not in fresh and "430582" in table
