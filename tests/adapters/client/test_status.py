"""`status`: overdue is a fact of time (now past due_at), whatever the working-day count says."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

import gateway.cli.client as client_cli
from adapters.client.service import status
from adapters.client.store import ClientStore
from gateway.cli.main import app
from tests.api.conftest import example

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A week without holidays: Friday 2026-11-27, due at the end of that day (as the gateway sets it).
DUE = datetime(2026, 11, 27, 23, 59, 59, 999000, tzinfo=SHANGHAI)
THURSDAY = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
SUNDAY = datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


def _store_request(directory: Path) -> str:
    doc = example("notification.birth")
    with ClientStore.in_dir(directory) as store:
        store.save(
            message_id=doc["message_id"],
            type=doc["type"],
            envelope=doc,
            received_via="pull",
            received_at=datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI),
            recipient="430582",
            due_at=DUE,
        )
    return str(doc["message_id"])


@pytest.mark.parametrize(
    ("now", "left", "overdue"),
    [
        (THURSDAY, 1, False),
        (FRIDAY, 0, False),  # due today, not yet past
        (SATURDAY, 0, True),  # no working day elapsed since Friday, but the deadline passed
        (SUNDAY, 0, True),
        (MONDAY, -1, True),
        (TUESDAY, -2, True),
    ],
)
def test_a_friday_deadline_is_overdue_over_the_weekend(
    tmp_path: Path, now: datetime, left: int, overdue: bool
) -> None:
    _store_request(tmp_path)
    with ClientStore.in_dir(tmp_path) as store:
        [item] = status(store, now=now)
    assert (item.working_days_left, item.overdue) == (left, overdue)


def test_the_clerk_sees_overdue_on_saturday(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = _store_request(tmp_path)
    runner = CliRunner()
    for now, shown in ((FRIDAY, False), (SATURDAY, True), (SUNDAY, True)):
        monkeypatch.setattr(client_cli, "_now", lambda now=now: now)
        result = runner.invoke(app, ["client", "status", "--offline", "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        [row] = [line for line in result.output.splitlines() if message_id in line]
        assert row.rstrip().endswith("0 已超期") is shown, (now, row)
        assert ("其中已超期 1 份" in result.output) is shown, (now, result.output)
