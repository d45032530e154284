from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli.main import app
from tests.message_schemas.conftest import EXAMPLES

runner = CliRunner()


def test_validate_accepts_a_valid_file() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES / "feedback.not_found.json")])
    assert result.exit_code == 0, result.output


def test_validate_reports_field_paths_as_json(tmp_path: Path) -> None:
    msg = json.loads((EXAMPLES / "feedback.not_found.json").read_text(encoding="utf-8"))
    del msg["body"]["verified_sources"]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(msg), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    errors = json.loads(result.stdout)
    assert errors == [
        {
            "field": "body.verified_sources",
            "rule": "not_found_requires_sources",
            "message": errors[0]["message"],
        }
    ]


def test_validate_reads_stdin() -> None:
    good = (EXAMPLES / "query.json").read_bytes()
    assert runner.invoke(app, ["validate", "-"], input=good).exit_code == 0
    bad = runner.invoke(app, ["validate", "-"], input=b"{not json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)[0]["rule"] == "json_invalid"


def test_validate_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(tmp_path / "absent.json")]).exit_code == 2


def test_schemas_export(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schemas", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "notification.schema.json").is_file()


def test_help_is_bilingual() -> None:
    result = runner.invoke(app, ["--help"])
    assert "流动人口" in result.output and "Exchange gateway" in result.output
