"""Retention: personal data of finished messages is crypto-shredded after its time; open
obligations never are; every column the figures read stays as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from gateway.errors import ConfigurationError
from gateway.messages.models import MESSAGES
from gateway.messages.retention import purge_expired
from gateway.privacy.retention import FIVE_YEARS, rules
from tests.api.conftest import Harness, example

PERSONAL = {"envelope", "sealed_envelope", "data_key", "kek_id", "purged_at"}
METADATA = [c for c in MESSAGES.c if c.name not in PERSONAL]


def _metadata(gw: Harness) -> dict[str, tuple[Any, ...]]:
    with gw.runtime.engine.connect() as conn:
        return {r.message_id: tuple(r) for r in conn.execute(select(*METADATA))}


def _figures(gw: Harness) -> list[tuple[Any, ...]]:
    """What a compliance query reads: per recipient node and response, counts and on-time."""
    with gw.runtime.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT node_code, type, response, count(*), sum(CASE WHEN submitted_on_time"
                    " THEN 1 ELSE 0 END) FROM messages GROUP BY node_code, type, response"
                    " ORDER BY 1, 2, 3"
                )
            )
        )


def test_finished_messages_are_purged_after_their_time_and_the_figures_stay(gw: Harness) -> None:
    residence = gw.node("441900")
    origin = gw.node("430582")
    answered = example("notification.pregnancy")
    still_open = example("notification.birth")
    for msg in (answered, still_open):
        assert residence.post("/api/v1/messages", json=msg).status_code == 202
    reply = example("feedback", in_reply_to=answered["message_id"])
    assert origin.post("/api/v1/messages", json=reply).status_code == 202
    assert residence.post(f"/api/v1/inbox/{reply['message_id']}/ack").status_code == 200
    views = {
        m: residence.get(f"/api/v1/messages/{m}").json()
        for m in (answered["message_id"], still_open["message_id"], reply["message_id"])
    }
    assert views[answered["message_id"]]["state"] == "closed"
    before, figures = _metadata(gw), _figures(gw)
    in_force = rules({})

    # a day short of five years: nothing goes
    soon = gw.time.now() + timedelta(days=FIVE_YEARS - 1)
    assert sum(purge_expired(gw.runtime.sessions, in_force, soon).values()) == 0
    later = gw.time.now() + timedelta(days=FIVE_YEARS + 1)
    counts = purge_expired(gw.runtime.sessions, in_force, later)
    assert counts["notification:closed"] == 1 and counts["feedback:acknowledged"] == 1
    assert sum(purge_expired(gw.runtime.sessions, in_force, later).values()) == 0  # idempotent

    with gw.runtime.engine.connect() as conn:
        rows = {r.message_id: r for r in conn.execute(select(MESSAGES))}
    for mid in (answered["message_id"], reply["message_id"]):
        row = rows[mid]
        assert row.sealed_envelope is None and row.data_key is None and row.purged_at is not None
    kept = rows[still_open["message_id"]]  # its answer is still awaited: never purged
    assert kept.sealed_envelope is not None and kept.purged_at is None
    assert _metadata(gw) == before and _figures(gw) == figures
    for mid, view in views.items():
        assert residence.get(f"/api/v1/messages/{mid}").json() == view


@pytest.mark.parametrize(
    ("configured", "named"),
    [
        ({"notification:acknowledged": 10}, "still open"),
        ({"*:routed": 10}, "state must be one of"),
        ({"query:closed": -1}, "days must be"),
    ],
)
def test_rules_that_would_purge_open_work_are_refused(
    configured: dict[str, int], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        rules(configured)
