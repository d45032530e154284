"""Reference data loaded into a running gateway counts without a restart (docs/architecture.md,
"Reference data"): a division table changes validation, a calendar year changes deadlines,
within the process's check interval, through the commands an operator uses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from tests.api.conftest import SHANGHAI, Harness, example, running_gateway
from tests.conftest import STACKS

EXAMPLE_2027 = Path(__file__).resolve().parents[1] / "calendar" / "fixtures" / "2027-example.toml"
CHECK_S = 0.2  # how often the gateway looks at the data directory (default 2 s)


@pytest.fixture(params=STACKS)
def gw(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path, reference_check_s=CHECK_S) as harness:
        # the operator's commands work on the same data directory
        monkeypatch.setenv("GATEWAY_DATA_DIR", str(harness.runtime.settings.data_dir))
        yield harness


def _operator(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output


def test_a_loaded_village_table_changes_validation_at_once(gw: Harness, tmp_path: Path) -> None:
    residence = gw.node("441900")
    gw.node("440000")

    def notify() -> dict[str, object]:
        doc = example("notification.birth", recipient="440000")
        doc["subject"]["hukou_code"] = "441900003400"  # 400: outside the structural ranges
        response = residence.post("/api/v1/messages", json=doc)
        return {"status": response.status_code, "body": response.json()}

    refused = notify()
    assert refused["status"] == 422
    rules = {e["rule"] for e in refused["body"]["errors"]}  # type: ignore[index]
    assert "division_village_range" in rules
    table = tmp_path / "villages.csv"
    # the township's villages, now from the table (the example's residence is one of them)
    table.write_text(
        "code,name\n441900003400,东城特殊编码社区\n441900003005,东城某某社区\n", encoding="utf-8"
    )
    _operator("divisions", "load", str(table), "--kind", "village")
    time.sleep(CHECK_S * 2)
    accepted = notify()
    assert accepted["status"] == 202, accepted["body"]["errors"]  # type: ignore[index]


def test_a_loaded_calendar_year_changes_deadlines_at_once(gw: Harness) -> None:
    residence = gw.node("441900")
    gw.node("430582")
    gw.time.set(datetime(2027, 2, 1, 10, 0, tzinfo=SHANGHAI))

    def due() -> tuple[str, bool]:
        msg = example("notification.pregnancy", created_at="2027-02-01T09:00:00+08:00")
        body = residence.post("/api/v1/messages", json=msg).json()
        return body["due_at"][:10], body["due_provisional"]

    assert due() == ("2027-02-10", True)  # the statutory rule alone: provisional
    _operator("calendar", "load", str(EXAMPLE_2027))
    time.sleep(CHECK_S * 2)
    assert due() == ("2027-02-16", False)  # the loaded notice: exact
    calendar = residence.get("/api/v1/calendar/due", params={"available_at": "2027-02-01"})
    assert calendar.json()["provisional"] is False
