"""`gateway calendar due|load|show` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.calendar import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["due", "2025-09-30"], "2025-10-14"),
        (["due", "2026-09-30"], "2026-10-13"),
        (["due", "2025-09-30", "--working-days", "1"], "2025-10-09"),
        (["due", "2025-09-30", "--calendar-days", "30"], "2025-10-30"),
        # 16:30 UTC on 8 Oct is already 9 Oct in Shanghai, so the count starts a day later.
        (["due", "2025-10-08T16:30:00Z", "--working-days", "1"], "2025-10-10"),
        (["due", "2025-10-08T23:59:00+08:00", "--working-days", "1"], "2025-10-09"),
    ],
)
def test_due_prints_the_date(data_dir: Path, args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == line + "\n"
    assert result.stderr == ""


def test_due_provisional(data_dir: Path) -> None:
    result = runner.invoke(app, ["due", "2026-12-31"])
    assert result.exit_code == 0
    assert result.stdout == "2027-01-08 provisional\n"
    assert "2027" in result.stderr
    assert "尚未载入" in result.stderr
    assert "not loaded" in result.stderr


def test_due_json(data_dir: Path) -> None:
    result = runner.invoke(app, ["due", "2026-12-31", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "available_date": "2026-12-31",
        "due_at": "2027-01-08T23:59:59.999+08:00",
        "due_date": "2027-01-08",
        "working_days": 5,
        "provisional": True,
    }
    calendar = runner.invoke(app, ["due", "2026-12-31", "--calendar-days", "15", "--json"])
    assert json.loads(calendar.stdout) == {
        "available_date": "2026-12-31",
        "due_at": "2027-01-15T23:59:59.999+08:00",
        "due_date": "2027-01-15",
        "calendar_days": 15,
        "provisional": False,
    }


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["due", "30/09/2025"], "ISO"),
        (["due", "2025-09-30T10:00:00"], "offset"),
        (["due", "2025-09-30", "--working-days", "0"], "--working-days"),
        (["due", "2025-09-30", "--working-days", "2", "--calendar-days", "2"], "not both"),
        (["due", "2099-12-31"], "2100"),
        (["show", "2100"], "2099"),
    ],
)
def test_bad_input_exits_2(data_dir: Path, args: list[str], hint: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert hint in result.stderr


def test_load_then_exact(data_dir: Path, example_2027: Path) -> None:
    loaded = runner.invoke(app, ["load", str(example_2027)])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stdout.splitlines()[0] == (
        "已载入 2027 年放假安排 / Loaded 2027: 30 holiday dates, 5 make-up working days"
    )
    assert (data_dir / "calendar" / "2027.toml").is_file()
    after = runner.invoke(app, ["due", "2026-12-31"])
    assert (after.stdout, after.stderr) == ("2027-01-08\n", "")
    changed = runner.invoke(app, ["due", "2027-02-03"])
    assert changed.stdout == "2027-02-18\n"


def test_load_invalid_prints_errors_json(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'year = 2027\nsource = "x"\n[[holidays]]\nname = "元旦"\n'
        "start = 2027-01-03\nend = 2027-01-01\n",
        "utf-8",
    )
    result = runner.invoke(app, ["load", str(bad)])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "field": "holidays.0.end",
            "rule": "range_order",
            "message": "end is before start / 结束早于开始",
        }
    ]
    assert not (data_dir / "calendar" / "2027.toml").exists()


def test_show_official_year(data_dir: Path) -> None:
    result = runner.invoke(app, ["show", "2025"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "2025 年放假安排 / Schedule for 2025"
    assert lines[1].startswith("来源 / source: holidays ")
    assert lines[2] == "状态 / status: exact（正式 / official）"
    assert "  2025-10-08 周三 休息日（由 2025-10-11 调休）" in lines
    assert "  2025-10-11 周六 调休上班（换 2025-10-08 休息）" in lines
    assert "非工作的周一至周五 / Non-working weekdays (18):" in lines
    assert "调休上班日 / Make-up working days (5):" in lines


def test_show_provisional_year(data_dir: Path) -> None:
    result = runner.invoke(app, ["show", "2027"])
    assert result.exit_code == 0
    assert "provisional" in result.stdout.splitlines()[2]
    assert "调休上班日 / Make-up working days (0):" in result.stdout.splitlines()


def test_recount_reports_what_it_recounted(data_dir: Path) -> None:
    result = runner.invoke(app, ["recount"])
    assert result.exit_code == 0, result.output
    assert "deadlines recounted: 0" in result.output
