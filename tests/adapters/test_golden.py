"""Golden files: the same synthetic export as UTF-8 CSV, GB18030 CSV and XLSX (with a title
row) must give exactly the reviewed messages and the reviewed clerk's report, field by field.

Inputs: tests/adapters/golden/make_inputs.py. After a deliberate change, rewrite the expected
files with ``GOLDEN_UPDATE=1 pytest tests/adapters/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from openpyxl import load_workbook

from adapters.convert import Converted, Converter
from adapters.importer import run_import
from adapters.profiles import load_profile
from adapters.readers import open_records
from adapters.report import HEADERS, ReportWriter, RowIssue
from tests.standard import REGISTRY, message_errors

GOLDEN = Path(__file__).parent / "golden"
# file → offset of its row numbers against the UTF-8 CSV (the XLSX has a title row above)
INPUTS = {"export.utf8.csv": 0, "export.gb18030.csv": 0, "export.xlsx": 1}
SENDER = "441900"


def _convert(name: str) -> tuple[dict[str, Any], list[RowIssue]]:
    messages: dict[str, Any] = {}
    issues: list[RowIssue] = []
    with open_records(GOLDEN / name) as reader:
        converter = Converter(
            load_profile("floating_women"), reader.headers, sender=SENDER, registry=REGISTRY
        )
        for raw in reader:
            result = converter.convert(raw)
            if isinstance(result, Converted):
                messages[str(raw.number - INPUTS[name])] = orjson.loads(result.body)
                issues.extend(result.warnings)
            else:
                issues.extend(result.issues)
    return messages, issues


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: doc}


def _expected_report() -> list[list[str]]:
    with (GOLDEN / "expected_report.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(HEADERS)
    return rows[1:]


if os.environ.get("GOLDEN_UPDATE"):  # pragma: no cover - a maintainer's step, not a test
    _messages, _issues = _convert("export.utf8.csv")
    (GOLDEN / "expected_messages.json").write_text(
        json.dumps(_messages, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    with ReportWriter(GOLDEN / "expected_report.csv") as _report:
        for _issue in _issues:
            _report.add(_issue)


@pytest.mark.parametrize("name", list(INPUTS))
def test_messages_match_golden_field_by_field(name: str) -> None:
    expected = json.loads((GOLDEN / "expected_messages.json").read_text(encoding="utf-8"))
    got, _ = _convert(name)
    assert sorted(got, key=int) == sorted(expected, key=int), "rows converted"
    for row, message in expected.items():
        want, have = _flat(message), _flat(got[row])
        for path in sorted(set(want) | set(have)):
            assert have.get(path) == want.get(path), f"row {row}: {path}"
        assert message_errors(orjson.dumps(got[row])) == []


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_report_matches_golden(name: str, fmt: str, tmp_path: Path) -> None:
    """The clerk's report, as the import writes it beside the input, in both formats."""
    source = tmp_path / name
    source.write_bytes((GOLDEN / name).read_bytes())
    out = tmp_path / f"report.{fmt}"
    summary = run_import(
        source,
        load_profile("floating_women"),
        sender=SENDER,
        registry=REGISTRY,
        submitter=None,
        report_path=out,
    )
    if fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        book = load_workbook(out, read_only=True)
        rows = [
            ["" if v is None else str(v) for v in r]
            for r in book.active.iter_rows(values_only=True)
        ]
        book.close()
    assert rows[0] == list(HEADERS)
    offset = INPUTS[name]

    def shift(text: str) -> str:  # "与第4行…" names a row of the same file
        return re.sub(r"第(\d+)行", lambda m: f"第{int(m[1]) - offset}行", text)

    got = [[str(int(r[0]) - offset), r[1], r[2], shift(r[3]), *r[4:]] for r in rows[1:]]
    expected = _expected_report()
    assert len(got) == len(expected)
    for have, want in zip(got, expected, strict=True):
        for header, h, w in zip(HEADERS, have, want, strict=True):
            assert h == w, f"report row {want[0]}, {header}"
    assert summary.rows == 27 and summary.converted == 10 and summary.rejected == 17
    assert summary.issues == len(expected)


def test_the_same_rows_make_the_same_ids_in_every_encoding() -> None:
    ids = [{row: m["message_id"] for row, m in _convert(name)[0].items()} for name in INPUTS]
    assert ids[0] == ids[1] == ids[2]
