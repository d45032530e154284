"""XLSX readers for county exports: rows/s and peak memory, each option in its own process.

    .venv/bin/python -m bench.bench_xlsx_readers --rows 200000 [--repeat N] [--keep DIR]

Input: ``--rows`` synthetic ``floating_women`` rows (``adapters.samples``), written three ways:
  csv        – ``write_csv`` (UTF-8), the baseline;
  openpyxl   – ``write_xlsx``: openpyxl write-only mode, inline strings, no ``<dimension>``;
  xlsxwriter – XlsxWriter's default mode, written like Excel writes: one shared-strings table,
               a ``<dimension>``, no cell for an empty value (needs ``pip install xlsxwriter``).

Every reader produces the same thing the importer consumes: ``RawRow`` objects out of
``adapters.readers``' header detection and row building (``_TableReader``), so only the cell
source differs:
  open_records   – today's reader (CSV; XLSX: openpyxl ``read_only=True, data_only=True``),
                   run with ``OPENPYXL_LXML=False``;
  openpyxl+lxml  – the same with lxml importable and enabled (skipped if lxml is missing);
  calamine       – python-calamine ``CalamineWorkbook.from_path(p).get_sheet_by_index(0)
                   .iter_rows()`` (skipped if not installed);
  stdlib         – a minimal ``zipfile`` + ``xml.etree.ElementTree.iterparse`` reader of the
                   first sheet and the shared strings. A measurement only: no styles, so date
                   cells would come out as serial numbers.

Each (file, reader) runs in a fresh child process: the child times opening plus iterating to
the end (imports excluded), notes ``ru_maxrss`` before opening and at the first row; the parent
takes the peak RSS of the whole child from ``os.wait4``. Linux counts the parent's RSS at fork
into a child's ``ru_maxrss``, so the files are written by child processes too and the parent
stays at ~21 MiB; the child's own ``VmHWM`` (``/proc/self/status``) is shown beside it. A
sample of the rows (every 97th) is hashed so the table shows that every reader read the same
values.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any
from xml.etree.ElementTree import Element, iterparse

from adapters.readers import RecordReader, _other_text, _TableReader, open_records
from adapters.samples import HEADERS, sample_rows, write_csv, write_xlsx

READERS = ("open_records", "openpyxl+lxml", "calamine", "stdlib")
SAMPLE_EVERY = 97


# --- the readers under test (child side) -----------------------------------------------------


class _CalamineReader(_TableReader):
    """python-calamine as the cell source. Its Rust core reads the whole sheet into a range
    when the sheet is opened; ``iter_rows`` then walks that range."""

    format = "xlsx"
    encoding = None

    def __init__(self, path: Path) -> None:
        calamine: Any = importlib.import_module("python_calamine")
        self._workbook = calamine.CalamineWorkbook.from_path(str(path))
        try:
            sheet = self._workbook.get_sheet_by_index(0)
            start = sheet.start  # (row, column), 0-based, of the first non-empty cell
            first_row, first_col = (start[0] + 1, start[1]) if start else (1, 0)
            super().__init__(self._numbered(sheet.iter_rows(), first_row, first_col), None)
        except BaseException:
            self._workbook.close()
            raise

    @staticmethod
    def _numbered(rows: Iterator[list[Any]], first_row: int, first_col: int) -> Iterator[Any]:
        pad = [""] * first_col  # calamine's range starts at the first used column
        for number, row in enumerate(rows, first_row):
            cells = [v.strip() if type(v) is str else _other_text(v) for v in row]
            yield number, pad + cells if pad else cells

    def close(self) -> None:
        self._workbook.close()


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _col_index(ref: str, cache: dict[str, int]) -> int:
    """0-based column of a cell reference such as ``AB12``."""
    letters = ref.rstrip("0123456789")
    index = cache.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch) - 64
        index = cache[letters] = index - 1
    return index


def _si_text(si: Element) -> str:
    """Text of a shared string / inline string: plain ``<t>`` or rich-text runs, not the
    phonetic (``<rPh>``) guide."""
    parts = [si.findtext(f"{_MAIN}t") or ""]
    parts.extend(run.findtext(f"{_MAIN}t") or "" for run in si.iterfind(f"{_MAIN}r"))
    return "".join(parts)


class _StdlibReader(_TableReader):
    """zipfile + ElementTree.iterparse over the first sheet, shared strings held in a list."""

    format = "xlsx"
    encoding = None

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)
        try:
            self._strings = self._shared_strings()
            self._source: IO[bytes] = self._zip.open(self._first_sheet())
            super().__init__(self._numbered(), None)
        except BaseException:
            self._zip.close()
            raise

    def _first_sheet(self) -> str:
        workbook = self._zip.read("xl/workbook.xml")
        rels = self._zip.read("xl/_rels/workbook.xml.rels")
        from xml.etree.ElementTree import fromstring

        sheet = fromstring(workbook).find(f"{_MAIN}sheets/{_MAIN}sheet")
        if sheet is None:
            raise ValueError("no sheet")
        rid = sheet.get(f"{_REL}id")
        for rel in fromstring(rels).iter(f"{_PKG_REL}Relationship"):
            if rel.get("Id") == rid:
                target = rel.get("Target", "")
                if target.startswith("/"):
                    return target[1:]
                return str(PurePosixPath("xl") / target)
        raise ValueError("sheet target not found")

    def _shared_strings(self) -> list[str]:
        try:
            source = self._zip.open("xl/sharedStrings.xml")
        except KeyError:
            return []
        strings: list[str] = []
        with source:
            for _, elem in iterparse(source):
                if elem.tag == f"{_MAIN}si":
                    strings.append(_si_text(elem))
                    elem.clear()
        return strings

    def _numbered(self) -> Iterator[Any]:
        row_tag, v_tag, is_tag = f"{_MAIN}row", f"{_MAIN}v", f"{_MAIN}is"
        strings = self._strings
        cols: dict[str, int] = {}
        expected = 1
        for _, elem in iterparse(self._source):
            if elem.tag != row_tag:
                continue
            r = elem.get("r")
            number = int(r) if r else expected
            cells: list[str] = []
            for c in elem:
                ref = c.get("r")
                if ref is not None:
                    col = _col_index(ref, cols)
                    if col > len(cells):
                        cells.extend([""] * (col - len(cells)))
                t = c.get("t")
                if t == "s":
                    v = c.findtext(v_tag)
                    text = strings[int(v)] if v else ""
                elif t == "inlineStr":
                    inline = c.find(is_tag)
                    text = _si_text(inline) if inline is not None else ""
                else:
                    text = c.findtext(v_tag) or ""
                    if text and t in (None, "n"):
                        text = _other_text(float(text))
                    elif t == "b":
                        text = "是" if text == "1" else "否"
                cells.append(text.strip())
            elem.clear()
            expected = number + 1
            yield number, cells

    def close(self) -> None:
        self._source.close()
        self._zip.close()


def _open(reader: str, path: Path) -> RecordReader:
    if reader in ("open_records", "openpyxl+lxml"):
        return open_records(path)
    if reader == "calamine":
        return _CalamineReader(path)
    if reader == "stdlib":
        return _StdlibReader(path)
    raise ValueError(reader)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _vmhwm_mib() -> float | None:
    """This process's own peak RSS (Linux); unlike ru_maxrss it starts afresh at exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def child(reader: str, path: Path) -> None:
    """One measurement: open + iterate to the end; print a JSON line."""
    if path.suffix == ".xlsx" and reader in ("open_records", "openpyxl+lxml"):
        import openpyxl  # import cost outside the timing, like the other libraries

        if reader == "openpyxl+lxml" and not openpyxl.LXML:
            raise SystemExit("lxml is not in use")
    elif reader == "calamine":
        importlib.import_module("python_calamine")
    rss_before = _maxrss_mib()
    started = time.perf_counter()
    first_row_s = rss_first = 0.0
    rows = 0
    last = 0
    digest = 0
    with _open(reader, path) as records:
        for row in records:
            if not rows:
                first_row_s = time.perf_counter() - started
                rss_first = _maxrss_mib()
            rows += 1
            last = row.number
            if rows % SAMPLE_EVERY == 1:
                digest = zlib.crc32("\x1f".join(row.values.values()).encode(), digest)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": rows,
                "last_row": last,
                "seconds": seconds,
                "first_row_s": first_row_s,
                "rss_before_mib": rss_before,
                "rss_first_row_mib": rss_first,
                "digest": f"{digest:08x}",
                "vmhwm_mib": _vmhwm_mib(),
            }
        )
    )


# --- parent side ------------------------------------------------------------------------------


def write_xlsxwriter(path: Path, rows: Iterator[dict[str, str]]) -> Path:
    """An Excel-like file: shared strings, <dimension>, no cells for empty values."""
    xlsxwriter: Any = importlib.import_module("xlsxwriter")
    book = xlsxwriter.Workbook(str(path))  # default mode: shared strings, like Excel
    sheet = book.add_worksheet("育龄妇女")
    sheet.write_string(0, 0, "流动人口育龄妇女信息表")
    sheet.write_row(1, 0, HEADERS)
    for r, row in enumerate(rows, 2):
        for c, header in enumerate(HEADERS):
            value = row[header]
            if value:
                sheet.write_string(r, c, value)
    book.close()
    return path


def write_file(variant: str, path: Path, rows: int) -> None:
    if variant == "csv":
        write_csv(path, sample_rows(rows))
    elif variant == "openpyxl":
        write_xlsx(path, sample_rows(rows))
    else:
        write_xlsxwriter(path, sample_rows(rows))


def _run_child(reader: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "OPENPYXL_LXML": "True" if reader == "openpyxl+lxml" else "False"}
    cmd = [sys.executable, "-m", "bench.bench_xlsx_readers", "--child", reader, str(path)]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{reader} on {path.name} failed: {text[-2000:]}")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    return result


def _available(reader: str) -> str | None:
    """Why ``reader`` cannot run here, or None."""
    need = {"openpyxl+lxml": "lxml", "calamine": "python_calamine"}.get(reader)
    if need and importlib.util.find_spec(need) is None:
        pip = need.replace("_", "-")
        return f"{need} is not installed (.venv/bin/pip install {pip})"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per option; best is kept")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the files in this directory")
    parser.add_argument("--readers", default=",".join(READERS), help="comma-separated subset")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.write:
        write_file(args.write[0], Path(args.write[1]), args.rows)
        return

    readers = [r for r in args.readers.split(",") if r]
    for reader in readers:
        if reader not in READERS:
            parser.error(f"unknown reader {reader!r}; choose from {', '.join(READERS)}")
        reason = _available(reader)
        if reason:
            print(f"skipping {reader}: {reason}")
    readers = [r for r in readers if _available(r) is None]

    with tempfile.TemporaryDirectory(prefix="gw-bench-xlsx-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        variants = ["csv", "openpyxl", "xlsxwriter"]
        if importlib.util.find_spec("xlsxwriter") is None:
            print("skipping the Excel-style file: xlsxwriter is not installed (pip install it)")
            variants.remove("xlsxwriter")
        files: dict[str, Path] = {}
        for variant in variants:
            suffix = ".csv" if variant == "csv" else ".xlsx"
            path = folder / f"export-{args.rows}-{variant}{suffix}"
            if not path.exists():
                began = time.perf_counter()
                module = [sys.executable, "-m", "bench.bench_xlsx_readers"]
                subprocess.run(
                    [*module, "--rows", str(args.rows), "--write", variant, str(path)], check=True
                )
                print(f"wrote {path.name} in {time.perf_counter() - began:.1f} s")
            files[variant] = path
        print(
            "files: "
            + ", ".join(f"{v} {p.stat().st_size / 2**20:.1f} MiB" for v, p in files.items())
        )

        plan = [("csv", "open_records")] + [
            (variant, reader) for variant in files if variant != "csv" for reader in readers
        ]
        results: list[dict[str, Any]] = []
        for variant, reader in plan:
            runs = [_run_child(reader, files[variant]) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["seconds"])
            best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
            best["vmhwm_mib"] = max(r["vmhwm_mib"] or 0 for r in runs)
            best.update(file=variant, reader=reader, rows_per_s=best["rows"] / best["seconds"])
            results.append(best)
            print(json.dumps(best), flush=True)

    print()
    print(
        "| file | reader | rows | rows/s | first row after | RSS before open"
        " | RSS at first row | peak RSS (wait4) | own VmHWM | sample digest |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['file']} | {r['reader']} | {r['rows']:,} | {r['rows_per_s']:,.0f}"
            f" | {r['first_row_s']:.2f} s | {r['rss_before_mib']:.0f} MiB"
            f" | {r['rss_first_row_mib']:.0f} MiB | {r['peak_rss_mib']:.0f} MiB"
            f" | {r['vmhwm_mib']:.0f} MiB | {r['digest']} |"
        )


if __name__ == "__main__":
    main()
