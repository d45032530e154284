"""Loading an operator file: validate it against the registry in force, then store it.

Running processes notice the stored file by its size and mtime and build a new registry
(gateway/reference.py); nothing here is cached.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from gateway.divisions import table_files
from gateway.divisions.registry import DivisionRegistry
from gateway.divisions.sources import load_packaged_table
from gateway.divisions.table_files import Kind, LoadResult


def load_file(
    path: Path,
    kind: Kind,
    *,
    directory: Path,
    registry: DivisionRegistry,
    as_of: date | None = None,
) -> LoadResult:
    """Validate ``path`` as ``kind`` against ``registry`` and store it in ``directory``
    (<data_dir>/divisions); raises DivisionDataError on any problem.

    national: replaces the packaged table when ``as_of`` is after the packaged date.
    village: replaces the villages of every township the file covers, keeps the others.
    successors: adds rows, replacing earlier operator rows with the same old_code.
    """
    raw = path.read_bytes()
    label = path.name
    rows = table_files.parse_csv(table_files.decode(raw), kind, label)
    meta: dict[str, object] = {
        "kind": kind,
        "source_file": label,
        "sha256": table_files.file_fingerprint(raw),
    }
    if kind == "national":
        return _load_national(directory, rows, label, as_of, meta)
    if kind == "village":
        return _load_villages(directory, registry, rows, label, meta)
    return _load_successors(directory, registry, rows, label, meta)


def _load_national(
    directory: Path,
    rows: list[table_files.Row],
    label: str,
    as_of: date | None,
    meta: dict[str, object],
) -> LoadResult:
    if as_of is None:
        raise table_files.division_error(
            "a national table needs its as-of date / 全国区划表须注明数据日期",
            [
                table_files.field_error(
                    "as_of", "as_of_required", "--as-of is required / 须提供--as-of"
                )
            ],
        )
    nodes = table_files.validate_national(rows, label, as_of=as_of, packaged=load_packaged_table())
    return table_files.write_stored(
        directory,
        "national",
        ((n.code, n.name, n.parent) for n in nodes.values()),
        {**meta, "as_of": as_of.isoformat()},
    )


def _load_villages(
    directory: Path,
    registry: DivisionRegistry,
    rows: list[table_files.Row],
    label: str,
    meta: dict[str, object],
) -> LoadResult:
    villages = table_files.validate_villages(
        rows, label, township_ok=lambda t: registry.check_code(t) is None
    )
    covered = {code[:9] for code in villages}
    kept = {c: n for c, n in registry.villages.items() if c[:9] not in covered}
    merged = {**kept, **villages}
    return table_files.write_stored(
        directory,
        "village",
        sorted(merged.items()),
        {**meta, "townships": len({c[:9] for c in merged}), "townships_in_file": len(covered)},
    )


def _load_successors(
    directory: Path,
    registry: DivisionRegistry,
    rows: list[table_files.Row],
    label: str,
    meta: dict[str, object],
) -> LoadResult:
    stored = table_files.read_stored(directory, "successors")
    earlier = {r.values["old_code"]: r.values for r in stored[0]} if stored else {}
    new_rows = table_files.validate_successors(
        rows,
        label,
        is_current=registry.is_current,
        is_known=lambda code: registry.check_code(code) is None,
        existing=registry.direct_edges,
    )
    merged = {old: (v["old_code"], v["new_code"], v["source"]) for old, v in earlier.items()}
    merged.update({r.old_code: (r.old_code, r.new_code, r.source) for r in new_rows})
    return table_files.write_stored(directory, "successors", sorted(merged.values()), meta)
