"""Deadlines counted into a year without an official schedule are provisional, and become
exact (possibly later) when an operator loads that year's notice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from gateway.calendar.service import install_schedule_file
from gateway.messages.deadlines import recompute_provisional
from tests.api.conftest import SHANGHAI, Harness, example

EXAMPLE_2027 = Path(__file__).resolve().parents[1] / "calendar" / "fixtures" / "2027-example.toml"


def test_loading_the_years_schedule_recounts_open_deadlines(gw: Harness) -> None:
    residence = gw.node("441900")
    gw.node("430582")
    # Available Monday 2027-02-01. Statutory fallback: Fri 02-05 (eve) and Mon 02-08 off →
    # 2, 3, 4, 9, 10 February: due 02-10, provisional. The example notice closes 02-05…02-14
    # → 2, 3, 4, 15, 16 February: due 02-16, exact.
    gw.time.set(datetime(2027, 2, 1, 10, 0, tzinfo=SHANGHAI))
    msg = example("notification.pregnancy", created_at="2027-02-01T09:00:00+08:00")
    first = residence.post("/api/v1/messages", json=msg).json()
    assert first["due_provisional"] is True
    assert first["due_at"].startswith("2027-02-10")
    exact_before = first["due_at"]

    references = gw.runtime.references
    assert references.calendar_dir is not None
    install_schedule_file(EXAMPLE_2027, references.calendar_dir)
    with gw.runtime.session() as session:
        assert recompute_provisional(session, references.refresh(), gw.time.now()) == 1
        session.commit()
    status = residence.get(f"/api/v1/messages/{msg['message_id']}").json()
    assert status["due_provisional"] is False
    assert status["timestamps"]["due_at"].startswith("2027-02-16")
    assert status["timestamps"]["due_at"] != exact_before
    # nothing left to recount
    with gw.runtime.session() as session:
        assert recompute_provisional(session, references.current(), gw.time.now()) == 0
