"""Operator-loaded files: village tables, a newer national table, successors."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from gateway.divisions import service
from gateway.divisions.errors import DivisionDataError
from gateway.divisions.registry import DivisionRegistry, load_registry
from gateway.divisions.sources import load_packaged_table
from gateway.divisions.table_files import Kind, LoadResult
from gateway.errors import problem_of

WriteCsv = Callable[..., Path]  # the write_csv fixture (conftest.py)


def _directory() -> Path:
    """<data_dir>/divisions of the test's own data dir (tests/conftest.py sets it)."""
    return Path(os.environ["GATEWAY_DATA_DIR"]) / "divisions"


def get_registry() -> DivisionRegistry:
    """The registry a process on this data dir builds now."""
    return load_registry(_directory())


def load_file(path: Path, kind: Kind, *, as_of: date | None = None) -> LoadResult:
    """As `gateway divisions load` does: against the registry in force, into the data dir."""
    return service.load_file(
        path, kind, directory=_directory(), registry=get_registry(), as_of=as_of
    )


VILLAGES = """code,name
441900003005,东城某某社区
441900003400,东城特殊编码社区
441900003201,东城某某村
"""


def _rules(exc: pytest.ExceptionInfo[DivisionDataError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


def test_village_table_replaces_range_checks_for_its_townships(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    result = load_file(write_csv("v.csv", VILLAGES), "village")
    assert result.rows == 3
    assert result.stored_at.is_relative_to(data_dir)
    registry = get_registry()
    assert registry.check_code("441900003400") is None  # outside 001–399 but listed
    problem = registry.check_code("441900003006")
    assert problem is not None
    assert problem.rule == "division_village_unknown"
    assert registry.check_code("441900004006") is None  # other townships: ranges only
    info = registry.lookup("441900003005")
    assert info is not None
    assert info.name_path == ("广东省", "东莞市", "东城街道", "东城某某社区")
    assert registry.info()["counts"]["villages"] == 3


def test_a_second_village_file_replaces_only_its_townships(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    load_file(write_csv("a.csv", VILLAGES), "village")
    load_file(
        write_csv("b.csv", "code,name\n441900003006,新社区\n441900004001,南城社区\n"),
        "village",
    )
    registry = get_registry()
    assert set(registry.villages) == {"441900003006", "441900004001"}
    problem = registry.check_code("441900003005")  # replaced with the township's new list
    assert problem is not None
    assert problem.rule == "division_village_unknown"


def test_gb18030_village_file(data_dir: Path, write_csv: WriteCsv) -> None:
    load_file(write_csv("gbk.csv", VILLAGES, encoding="gb18030"), "village")
    assert get_registry().villages["441900003005"] == "东城某某社区"


def test_village_file_problems_name_row_column_and_rule(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    text = (
        "code,name\n44190000300,短\n441900999001,无此乡\n441900003005,甲\n"
        "441900003005,乙\n441900003000,零\n441900003007,\n"
    )
    with pytest.raises(DivisionDataError) as exc:
        load_file(write_csv("bad.csv", text), "village")
    assert _rules(exc) == {
        ("row.2.code", "division_format"),
        ("row.3.code", "division_unknown"),
        ("row.5.code", "duplicate_code"),
        ("row.6.code", "division_village_range"),
        ("row.7.name", "name_invalid"),
    }
    assert not (data_dir / "divisions" / "villages.csv").exists()  # nothing stored
    assert problem_of(exc.value)["status"] == 422


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "csv_header"),
        ("code,label\n441900003005,x\n", "csv_header"),
        ("code,name\n", "csv_empty"),
        ("code,name\n441900003005,x,extra\n", "csv_columns"),
    ],
)
def test_malformed_csv(data_dir: Path, write_csv: WriteCsv, text: str, rule: str) -> None:
    with pytest.raises(DivisionDataError) as exc:
        load_file(write_csv("x.csv", text), "village")
    assert rule in {e.rule for e in exc.value.errors}


def _national_csv(write_csv: WriteCsv, extra: str = "", drop: str = "") -> Path:
    lines = ["code,name,parent_code"]
    for node in load_packaged_table().nodes.values():
        if drop and node.code.startswith(drop):
            continue
        lines.append(f"{node.code},{node.name},{node.parent}")
    return write_csv("n.csv", "\n".join(lines) + "\n" + extra)


def test_newer_national_table_replaces_the_packaged_one(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    path = _national_csv(write_csv, extra="430599,新设县,430500\n430599001,新设街道,430599\n")
    result = load_file(path, "national", as_of=date(2026, 6, 30))
    assert result.rows == 41936
    registry = get_registry()
    assert registry.check_code("430599001") is None
    info = registry.lookup("430599")
    assert info is not None
    assert info.name_path == ("湖南省", "邵阳市", "新设县")
    assert registry.is_known_id_prefix("430599")
    provenance = registry.info()
    assert provenance["current_table"]["source"] == "operator"
    assert provenance["current_table"]["as_of"] == "2026-06-30"


def test_a_code_missing_from_the_newer_table_is_retired(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    load_file(_national_csv(write_csv, drop="441900003"), "national", as_of=date(2026, 6, 30))
    registry = get_registry()
    assert registry.check_code("441900003") is None  # known, now retired
    info = registry.lookup("441900003")
    assert info is not None
    assert (info.status, info.name) == ("retired", "东城街道")


@pytest.mark.parametrize(
    ("extra", "as_of", "expected"),
    [
        ("", date(2025, 12, 31), ("as_of", "national_not_newer")),
        ("430599,新设县,439999\n", date(2026, 6, 30), ("row.41936.parent_code", "parent_unknown")),
        (
            "430599001,错位街道,430582\n",
            date(2026, 6, 30),
            ("row.41936.parent_code", "parent_mismatch"),
        ),
        ("4305990,坏代码,430500\n", date(2026, 6, 30), ("row.41936.code", "division_format")),
        ("430582,重复,430500\n", date(2026, 6, 30), ("row.41936.code", "duplicate_code")),
    ],
)
def test_national_table_problems(
    data_dir: Path, write_csv: WriteCsv, extra: str, as_of: date, expected: tuple[str, str]
) -> None:
    with pytest.raises(DivisionDataError) as exc:
        load_file(_national_csv(write_csv, extra=extra), "national", as_of=as_of)
    assert expected in _rules(exc)


def test_national_table_needs_a_date_and_every_province(
    data_dir: Path, write_csv: WriteCsv
) -> None:
    with pytest.raises(DivisionDataError) as exc:
        load_file(_national_csv(write_csv), "national")
    assert ("as_of", "as_of_required") in _rules(exc)
    small = write_csv("s.csv", "code,name,parent_code\n430000,湖南省,\n")
    with pytest.raises(DivisionDataError) as exc:
        load_file(small, "national", as_of=date(2026, 6, 30))
    assert ("file", "national_incomplete") in _rules(exc)


def test_successors_file_adds_overrides_and_chains(data_dir: Path, write_csv: WriteCsv) -> None:
    text = (
        "old_code,new_code,source\n"
        "130421,130402,运营方决定：邯郸县户籍按邯山区处理\n"
        "110299,330103,测试链：经已撤销的下城区\n"
    )
    load_file(write_csv("s.csv", text), "successors")
    registry = get_registry()
    assert registry.successor("130421") == "130402"  # overrides the curated "no successor"
    assert registry.successor("110299") == "330105"  # chain through 330103 → 330105
    assert registry.check_code("110299") is None  # an operator-declared retired code
    source = registry.successor_source("130421")
    assert source is not None
    assert source.startswith("operator:")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("430582,430581,x\n", ("row.2.old_code", "successor_old_current")),
        ("430521,999999,x\n", ("row.2.new_code", "division_unknown")),
        ("110298,110297,x\n110297,110298,x\n", ("row.2.new_code", "successor_cycle")),
        ("430521,430582,\n", ("row.2.source", "source_required")),
        ("999999001,430582,x\n", ("row.2.old_code", "division_unknown")),
        ("43052,430582,x\n", ("row.2.old_code", "division_format")),
    ],
)
def test_successors_file_problems(
    data_dir: Path, write_csv: WriteCsv, rows: str, expected: tuple[str, str]
) -> None:
    with pytest.raises(DivisionDataError) as exc:
        load_file(write_csv("s.csv", "old_code,new_code,source\n" + rows), "successors")
    assert expected in _rules(exc)


def test_registry_follows_the_data_dir(
    data_dir: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_file(write_csv("v.csv", VILLAGES), "village")
    assert get_registry().villages
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(data_dir.parent / "other"))
    assert not get_registry().villages  # another data dir, another registry
