"""The standard's catalogue as data: code tables and notification categories.

The packaged files under ``data/v1/`` are the national standard. A province extends it by
dropping TOML files of the same shape into ``$GATEWAY_DATA_DIR/catalog/`` (or the directory
named by ``GATEWAY_CATALOG_DIR``): new codes are added to existing tables, new tables and new
categories are added, new optional fields may be added to a category. Nothing packaged can be
removed or relabelled by an overlay, so messages valid nationally stay valid.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from message_schemas.errors import ExchangeError

VERSION_DIR = "v1"
FIELD_TYPES = ("date", "int", "text", "bool", "division")
_SPACES = re.compile(r"\s+")


class CatalogError(ExchangeError, ValueError):
    """A catalogue file is malformed; the text names the file and the entry."""

    title = "Catalogue unusable / 标准目录不可用"
    slug = "catalog"


@dataclass(frozen=True, slots=True)
class CodeTable:
    name: str
    label: str
    label_en: str
    codes: dict[str, str]  # wire code → Chinese label, in file order

    def words(self) -> dict[str, str]:
        """Every way a clerk may write a code → the wire code: the code itself, or its Chinese
        label without spaces. Built on each call: overlays add codes after construction."""
        out = {code: code for code in self.codes}
        out.update({_SPACES.sub("", label): code for code, label in self.codes.items()})
        return out

    def code_for(self, text: str) -> str | None:
        """A clerk's entry (code or Chinese label, spaces ignored) → wire code; None if unknown."""
        return self.words().get(_SPACES.sub("", text))


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # date | int | text | bool | division | code:<table> | list:code:<table>
    required: bool = False
    label: str = ""
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    equals_event: bool = False
    after_event: bool = False

    @property
    def code_table(self) -> str | None:
        if self.type.startswith("code:"):
            return self.type[5:]
        if self.type.startswith("list:code:"):
            return self.type[10:]
        return None


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    label: str
    label_en: str
    description: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True, slots=True)
class Catalog:
    tables: dict[str, CodeTable] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    overlays: tuple[str, ...] = ()

    def table(self, name: str) -> CodeTable:
        return self.tables[name]


def _packaged(name: str) -> dict[str, Any]:
    text = (
        resources.files("message_schemas")
        .joinpath("data", VERSION_DIR, name)
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def _overlay_dir() -> Path:
    explicit = os.environ.get("GATEWAY_CATALOG_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("GATEWAY_DATA_DIR", "gateway-data")) / "catalog"


def _merge_tables(tables: dict[str, CodeTable], raw: dict[str, Any], origin: str) -> None:
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("codes"), dict):
            raise CatalogError(f"{origin}: table {name!r} needs a [{name}.codes] section")
        codes = {str(k): str(v) for k, v in spec["codes"].items()}
        old = tables.get(name)
        if old is None:
            tables[name] = CodeTable(
                name, str(spec.get("label", name)), str(spec.get("label_en", name)), codes
            )
            continue
        for code, label in codes.items():
            if code in old.codes and old.codes[code] != label:
                raise CatalogError(f"{origin}: {name}.{code} may not be relabelled")
        old.codes.update(codes)


def _parse_field(raw: dict[str, Any], origin: str) -> FieldSpec:
    try:
        spec = FieldSpec(**raw)
    except TypeError as exc:
        raise CatalogError(f"{origin}: bad field entry {raw.get('name')!r}: {exc}") from None
    base = spec.type
    if spec.code_table is None and base not in FIELD_TYPES:
        raise CatalogError(f"{origin}: field {spec.name!r} has unknown type {base!r}")
    return spec


def _merge_categories(
    cats: dict[str, Category], raw: dict[str, Any], origin: str, *, packaged: bool
) -> None:
    for code, spec in raw.items():
        fields = tuple(_parse_field(f, f"{origin}:{code}") for f in spec.get("fields", []))
        old = cats.get(code)
        if old is None:
            cats[code] = Category(
                code,
                str(spec.get("label", code)),
                str(spec.get("label_en", code)),
                str(spec.get("description", "")),
                fields,
            )
            continue
        if packaged:
            raise CatalogError(f"{origin}: duplicate category {code!r}")
        known = {f.name for f in old.fields}
        extra = [f for f in fields if f.name not in known]
        if any(f.required for f in extra):
            raise CatalogError(f"{origin}: an overlay may add only optional fields to {code!r}")
        cats[code] = Category(
            old.code, old.label, old.label_en, old.description, old.fields + tuple(extra)
        )


def _check_references(catalog: Catalog) -> None:
    for cat in catalog.categories.values():
        for spec in cat.fields:
            table = spec.code_table
            if table is not None and table not in catalog.tables:
                raise CatalogError(f"category {cat.code}: field {spec.name} names table {table}")


def load_catalog(overlay_dir: Path | None = None) -> Catalog:
    tables: dict[str, CodeTable] = {}
    cats: dict[str, Category] = {}
    _merge_tables(tables, _packaged("codes.toml"), "codes.toml")
    _merge_categories(cats, _packaged("categories.toml"), "categories.toml", packaged=True)
    overlays: list[str] = []
    directory = overlay_dir if overlay_dir is not None else _overlay_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
            _merge_tables(tables, raw.get("tables", {}), path.name)
            _merge_categories(cats, raw.get("categories", {}), path.name, packaged=False)
            overlays.append(str(path))
    catalog = Catalog(tables, cats, tuple(overlays))
    _check_references(catalog)
    return catalog


@lru_cache(maxsize=1)
def get_catalog() -> Catalog:
    """The catalogue in force for this process (read once: models are built from it)."""
    return load_catalog()
