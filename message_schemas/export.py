"""Export the JSON Schemas (draft 2020-12) of the standard.

One file per message type (``notification.schema.json`` …), the tagged union of all of them
(``message.schema.json``) and the code tables with their Chinese labels (``codes.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from message_schemas.catalog import get_catalog
from message_schemas.v1 import SCHEMA_VERSION
from message_schemas.v1.envelope import MODELS, Message

SCHEMA_ID_BASE = "https://gateway.example/schemas/v1/"


def _finish(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID_BASE + name,
        "x-schema-version": SCHEMA_VERSION,
        **schema,
    }


def build_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema document."""
    out: dict[str, dict[str, Any]] = {}
    for type_name, model in MODELS.items():
        name = f"{type_name}.schema.json"
        out[name] = _finish(model.model_json_schema(), name)
    out["message.schema.json"] = _finish(TypeAdapter(Message).json_schema(), "message.schema.json")
    catalog = get_catalog()
    out["codes.json"] = {
        "x-schema-version": SCHEMA_VERSION,
        "tables": {
            t.name: {"label": t.label, "label_en": t.label_en, "codes": t.codes}
            for t in catalog.tables.values()
        },
        "categories": {
            c.code: {
                "label": c.label,
                "label_en": c.label_en,
                "description": c.description,
                "fields": [
                    {"name": f.name, "type": f.type, "required": f.required, "label": f.label}
                    for f in c.fields
                ],
            }
            for c in catalog.categories.values()
        },
    }
    return out


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in build_schemas().items():
        path = directory / name
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
