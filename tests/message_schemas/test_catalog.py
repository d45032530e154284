"""A province extends the catalogue by data: new codes and categories, never removals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from message_schemas.catalog import CatalogError, load_catalog
from tests.message_schemas.conftest import EXAMPLES

OVERLAY = textwrap.dedent(
    """
    [tables.marital_status.codes]
    cohabiting = "同居"

    [categories.adoption]
    label = "收养"
    label_en = "Adoption"
    fields = [
      { name = "adoption_date", type = "date", required = true, label = "收养日期" },
      { name = "child_sex", type = "code:sex", required = true, label = "子女性别" },
    ]
    """
)


def test_overlay_adds_codes_and_categories(tmp_path: Path) -> None:
    (tmp_path / "province.toml").write_text(OVERLAY, encoding="utf-8")
    catalog = load_catalog(tmp_path)
    assert catalog.table("marital_status").codes["cohabiting"] == "同居"
    assert catalog.table("marital_status").codes["first_marriage"] == "初婚"
    assert "adoption" in catalog.categories and len(catalog.categories) == 9


def test_overlay_takes_effect_in_validation_without_code_change(tmp_path: Path) -> None:
    (tmp_path / "province.toml").write_text(OVERLAY, encoding="utf-8")
    msg = json.loads((EXAMPLES / "notification.birth.json").read_text(encoding="utf-8"))
    msg["subject"]["marital_status"] = "cohabiting"
    msg["body"] = {
        "category": "adoption",
        "event_date": "2026-11-01",
        "details": {"adoption_date": "2026-11-01", "child_sex": "female"},
    }
    script = (
        "import sys; from message_schemas import message_errors; "
        "from gateway.divisions.registry import load_registry; "
        "print(len(message_errors(sys.stdin.buffer.read(), divisions=load_registry())))"
    )
    env = {**os.environ, "GATEWAY_CATALOG_DIR": str(tmp_path)}
    run = subprocess.run(  # the catalogue is read once per process, as in production
        [sys.executable, "-c", script],
        input=json.dumps(msg).encode(),
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert run.stdout.strip() == b"0"
    env["GATEWAY_CATALOG_DIR"] = str(tmp_path / "none")
    run = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(msg).encode(),
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert int(run.stdout) >= 1


@pytest.mark.parametrize(
    ("overlay", "complaint"),
    [
        ('[tables.sex.codes]\nmale = "雄"\n', "relabelled"),
        (
            '[categories.birth]\nfields = [{ name = "weight", type = "int", required = true }]\n',
            "only optional",
        ),
        ('[categories.x]\nfields = [{ name = "a", type = "colour" }]\n', "unknown type"),
        ('[categories.x]\nfields = [{ name = "a", type = "code:nope" }]\n', "names table"),
    ],
)
def test_overlay_may_not_break_the_standard(tmp_path: Path, overlay: str, complaint: str) -> None:
    (tmp_path / "bad.toml").write_text(overlay, encoding="utf-8")
    with pytest.raises(CatalogError, match=complaint):
        load_catalog(tmp_path)
