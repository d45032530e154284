"""`gateway divisions …` through Typer's test runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gateway.cli.divisions import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, list(args))
    return result.exit_code, json.loads(result.stdout)


def test_show_current_code() -> None:
    code, body = _run("show", "441900003")
    assert code == 0
    assert body["name_path"] == ["广东省", "东莞市", "东城街道"]
    assert body["problem"] is None


def test_show_retired_code() -> None:
    code, body = _run("show", "430521")
    assert code == 0
    assert (body["status"], body["successor"]) == ("retired", "430582")
    assert body["successor_source"] == "derived:name-stem"


def test_show_invalid_and_unknown_codes() -> None:
    code, body = _run("show", "43058")
    assert code == 1
    assert (body["field"], body["rule"]) == ("code", "division_format")
    code, body = _run("show", "999999")
    assert code == 1
    assert body["rule"] == "division_unknown"
    code, body = _run("show", "430582001400")
    assert (code, body["rule"]) == (1, "division_village_range")


def test_parse() -> None:
    code, body = _run("parse", "湖南邵东两市塘街道某某村")
    assert code == 0
    assert (body["code"], body["county_code"]) == ("430582001", "430582")


def test_load_and_info(data_dir: Path, write_csv: Callable[..., Path]) -> None:
    path = write_csv("v.csv", "code,name\n441900003005,东城某某社区\n", encoding="gb18030")
    code, body = _run("load", str(path), "--kind", "village")
    assert code == 0
    assert body["rows"] == 1
    code, body = _run("show", "441900003005")
    assert body["name"] == "东城某某社区"
    code, body = _run("info")
    assert code == 0
    assert body["counts"]["villages"] == 1
    assert body["operator_files"]["village"]["source_file"] == "v.csv"


def test_load_rejects_a_bad_file(data_dir: Path, write_csv: Callable[..., Path]) -> None:
    path = write_csv("bad.csv", "code,name\n441900999001,无此乡\n")
    code, body = _run("load", str(path), "--kind", "village")
    assert code == 1
    assert body["errors"] == [
        {"field": "row.2.code", "rule": "division_unknown", "message": body["errors"][0]["message"]}
    ]


def test_load_national_needs_a_valid_date(data_dir: Path, write_csv: Callable[..., Path]) -> None:
    path = write_csv("n.csv", "code,name,parent_code\n430000,湖南省,\n")
    code, body = _run("load", str(path), "--kind", "national", "--as-of", "2026/06/30")
    assert (code, body["rule"]) == (2, "date_format")


def test_help_is_chinese_then_english() -> None:
    result = runner.invoke(app, ["--help"])
    assert "行政区划代码" in result.stdout
    assert "Division codes" in result.stdout
    for command in ("show", "parse", "load", "info"):
        sub = runner.invoke(app, [command, "--help"])
        assert sub.exit_code == 0
        assert any("\u4e00" <= ch <= "\u9fff" for ch in sub.stdout)
