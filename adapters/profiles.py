"""Mapping profiles: which column of a county export feeds which field of the standard, and how
the county system's own words map to wire codes. Profiles are data (TOML): the packaged ones
under ``adapters/profiles/``, and an operator's under ``$GATEWAY_DATA_DIR/profiles/``, which
take precedence by name. docs/adapters.md explains how to write one.
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

from adapters.errors import AdapterError
from gateway.divisions.address import CONFIDENCE_MIN
from message_schemas.catalog import get_catalog

# Field paths a column may feed besides the notification details (body.details.<name>).
SUBJECT_FIELDS = {
    "subject.name": "text",
    "subject.id_number": "id_number",
    "subject.sex": "code:sex",
    "subject.birth_date": "date",
    "subject.hukou_address": "text",
    "subject.hukou_code": "division",
    "subject.residence_address": "text",
    "subject.residence_code": "division",
    "subject.marital_status": "code:marital_status",
}
ENVELOPE_FIELDS = {
    "sender_unit": "division",
    "created_at": "datetime",
    "body.category": "code:category",
    "body.event_date": "date",
    "body.remarks": "text",
}
MESSAGE_TYPES = ("notification",)
# A profile's name: an identifier (it is also a file stem and a URL segment)
PROFILE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class ProfileError(AdapterError, ValueError):
    """A profile is malformed or unknown; the text names the file and the entry."""

    kind = "not_found"
    title = "Unknown mapping profile / 映射配置不存在"
    slug = "unknown-profile"


@dataclass(frozen=True, slots=True)
class InferRule:
    category: str
    when: tuple[str, ...]  # field paths that must all be filled


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    label: str
    label_en: str
    message_type: str
    key: tuple[str, ...]
    min_address_confidence: float
    required_columns: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]  # field path → header aliases, first present wins
    field_types: dict[str, str]  # field path → date | int | text | bool | code:<table> | …
    infer: tuple[InferRule, ...]
    labels: dict[str, dict[str, str]]  # code table → local word → wire code
    origin: str = ""
    details_of: dict[str, frozenset[str]] = field(default_factory=dict)  # category → fields


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProfileError(f"{where}: expected a header or a list of headers / 须为列名或列名列表")


def _detail_types() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    catalog = get_catalog()
    types: dict[str, str] = {}
    details_of: dict[str, frozenset[str]] = {}
    for code, category in catalog.categories.items():
        details_of[code] = frozenset(spec.name for spec in category.fields)
        for spec in category.fields:
            path = f"body.details.{spec.name}"
            known = types.setdefault(path, spec.type)
            if known != spec.type:  # the same name typed differently by two categories
                types[path] = "text"
    return types, details_of


def parse_profile(raw: dict[str, Any], origin: str) -> Profile:
    catalog = get_catalog()
    detail_types, details_of = _detail_types()
    known_types = {**SUBJECT_FIELDS, **ENVELOPE_FIELDS, **detail_types}
    try:
        name = str(raw["name"])
        message_type = str(raw.get("message_type", "notification"))
        columns_raw = raw["columns"]
    except KeyError as exc:
        raise ProfileError(f"{origin}: missing {exc.args[0]!r} / 缺少 {exc.args[0]}") from None
    if message_type not in MESSAGE_TYPES:
        raise ProfileError(f"{origin}: message_type must be one of {MESSAGE_TYPES}")
    columns: dict[str, tuple[str, ...]] = {}
    for path, headers in dict(columns_raw).items():
        if path not in known_types:
            raise ProfileError(f"{origin}: [columns] {path!r} is no field of the standard")
        columns[path] = _str_list(headers, f"{origin}: [columns] {path}")
    infer = []
    for i, rule in enumerate(raw.get("infer", [])):
        category = rule.get("category")
        if category not in catalog.categories:
            raise ProfileError(f"{origin}: infer[{i}] names unknown category {category!r}")
        when = _str_list(rule.get("when"), f"{origin}: infer[{i}].when")
        for path in when:
            if path not in columns:
                raise ProfileError(f"{origin}: infer[{i}] uses {path!r}, which has no column")
        infer.append(InferRule(category, when))
    labels: dict[str, dict[str, str]] = {}
    for table, words in dict(raw.get("labels", {})).items():
        codes = set(catalog.categories) if table == "category" else None
        if codes is None:
            if table not in catalog.tables:
                raise ProfileError(f"{origin}: [labels.{table}] is no code table")
            codes = set(catalog.tables[table].codes)
        for word, code in dict(words).items():
            if code not in codes:
                raise ProfileError(f"{origin}: [labels.{table}] {word!r} → unknown code {code!r}")
        labels[table] = {str(k).strip(): str(v) for k, v in dict(words).items()}
    key = tuple(raw.get("key", ("subject.id_number", "body.category", "body.event_date")))
    for path in key:
        if path not in known_types:
            raise ProfileError(f"{origin}: key field {path!r} is no field of the standard")
    required = tuple(raw.get("required_columns", ("subject.name", "subject.id_number")))
    for path in required:
        if path not in columns:
            raise ProfileError(f"{origin}: required column {path!r} is not mapped")
    return Profile(
        name=name,
        label=str(raw.get("label", name)),
        label_en=str(raw.get("label_en", name)),
        message_type=message_type,
        key=key,
        min_address_confidence=float(raw.get("min_address_confidence", CONFIDENCE_MIN)),
        required_columns=required,
        columns=columns,
        field_types={path: known_types[path] for path in columns},
        infer=tuple(infer),
        labels=labels,
        origin=origin,
        details_of=details_of,
    )


def _operator_dir() -> Path:
    return Path(os.environ.get("GATEWAY_DATA_DIR", "gateway-data")) / "profiles"


@lru_cache(maxsize=1)
def _packaged() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    packaged = resources.files("adapters").joinpath("profiles")
    for entry in sorted(packaged.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = (
                f"adapters/profiles/{entry.name}",
                entry.read_text(encoding="utf-8"),
            )
    return found


def _operator_files() -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of the operator's profiles: a changed or new file is read again,
    an unchanged directory costs one listing per look-up (the records endpoint looks up on
    every request)."""
    directory = _operator_dir()
    if not directory.is_dir():
        return ()
    out = []
    for path in sorted(directory.glob("*.toml")):
        stat = path.stat()
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


@lru_cache(maxsize=8)
def _operator(files: tuple[tuple[str, int, int], ...]) -> dict[str, tuple[str, str]]:
    # a file whose stem is no profile name is not a profile (it could never be asked for)
    return {
        Path(p).stem: (p, Path(p).read_text(encoding="utf-8"))
        for p, _m, _s in files
        if PROFILE_NAME.fullmatch(Path(p).stem)
    }


def _sources() -> dict[str, tuple[str, str]]:
    """Profile name → (origin, TOML text); operator files override packaged ones."""
    return {**_packaged(), **_operator(_operator_files())}


@lru_cache(maxsize=32)
def _load(name: str, origin: str, text: str) -> Profile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: {exc}") from None
    profile = parse_profile(raw, origin)
    if profile.name != name:
        raise ProfileError(f"{origin}: name {profile.name!r} differs from the file name")
    return profile


def profile_names() -> list[str]:
    return sorted(_sources())


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (packaged or operator's) or from a TOML file path (the command
    line's choice; a name from a request goes through ``profile_by_name`` only)."""
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") and path.is_file():
        return _load(path.stem, str(path), path.read_text(encoding="utf-8"))
    return profile_by_name(name_or_path)


def profile_by_name(name: str) -> Profile:
    """A known profile (packaged, or a file in the operator's profiles folder) by its name.

    Never a path: the name is matched against the known list only, so a name that came from
    a URL cannot reach the filesystem (``probe.toml``, ``../x``)."""
    sources = _sources()
    if not PROFILE_NAME.fullmatch(name) or name not in sources:
        known = "、".join(sorted(sources))
        shown = name if PROFILE_NAME.fullmatch(name) else "…"
        raise ProfileError(
            f"没有名为 {shown!r} 的映射配置（可用：{known}）"
            f" / no profile {shown!r} (known: {', '.join(sorted(sources))})"
        )
    origin, text = sources[name]
    return _load(name, origin, text)
