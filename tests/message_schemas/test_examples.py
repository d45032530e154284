"""The examples kept beside the schemas: one per type and per category, all valid, and all
accepted by the exported JSON Schema under an independent validator (jsonschema)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from message_schemas.catalog import get_catalog
from message_schemas.export import build_schemas, export_schemas
from message_schemas.kinds import MESSAGE_TYPES
from tests.message_schemas.conftest import EXAMPLES
from tests.standard import validate_message

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def test_one_example_per_type_and_per_category() -> None:
    names = {p.stem for p in EXAMPLE_FILES}
    for message_type in MESSAGE_TYPES:
        if message_type != "notification":
            assert message_type in names
    for category in get_catalog().categories:
        assert f"notification.{category}" in names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_is_valid(path: Path) -> None:
    msg = validate_message(path.read_bytes())
    assert msg.type == path.stem.split(".")[0]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_passes_exported_json_schema(path: Path) -> None:
    schemas = build_schemas()
    doc = json.loads(path.read_text(encoding="utf-8"))
    for name in (f"{doc['type']}.schema.json", "message.schema.json"):
        jsonschema.Draft202012Validator(schemas[name]).validate(doc)


def test_json_schema_rejects_what_the_models_reject() -> None:
    schemas = build_schemas()
    doc = json.loads((EXAMPLES / "notification.birth.json").read_text(encoding="utf-8"))
    doc["body"]["details"]["child_sex"] = "boy"
    validator = jsonschema.Draft202012Validator(schemas["notification.schema.json"])
    assert not validator.is_valid(doc)
    doc["body"]["details"]["child_sex"] = "male"
    doc["body"]["unexpected"] = True
    assert not validator.is_valid(doc)


def test_code_tables_in_schema_carry_chinese_labels() -> None:
    schema = build_schemas()["notification.schema.json"]
    text = json.dumps(schema, ensure_ascii=False)
    assert '"first_marriage": "初婚"' in text
    assert "x-code-table" in text


def test_export_writes_every_type(tmp_path: Path) -> None:
    written = {p.name for p in export_schemas(tmp_path)}
    assert {f"{t}.schema.json" for t in MESSAGE_TYPES} <= written
    assert "codes.json" in written and "message.schema.json" in written
    codes = json.loads((tmp_path / "codes.json").read_text(encoding="utf-8"))
    assert codes["tables"]["verification_source"]["codes"]["public_security"] == "公安部门"
    assert len(codes["categories"]) == 8


def test_committed_schemas_are_current() -> None:
    """message_schemas/json/ is what integrators read; it must match the models."""
    committed = EXAMPLES.parent.parent / "json" / "v1"
    for name, doc in build_schemas().items():
        on_disk = json.loads((committed / name).read_text(encoding="utf-8"))
        assert on_disk == doc, f"{name} is stale: run `gateway schemas export {committed}`"
