"""Import a county export: read (streaming) → convert → submit in batches → ledger and report.

Reading and converting run on the calling thread; submitting runs on one sender thread behind
a short queue, so the gateway's work on one batch overlaps the conversion of the next while
memory stays bounded (at most ``QUEUE_BATCHES`` batches wait). Each batch's outcome is written
to the ledger when the gateway has answered it; a crash or Ctrl-C loses at most the batches in
flight, which the next run sends again and the gateway answers as duplicates.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from adapters.convert import Converted, Converter, Rejected, chinese_part
from adapters.errors import AdapterError
from adapters.ledger import Entry, Ledger
from adapters.profiles import Profile
from adapters.readers import open_records
from adapters.report import ReportWriter, RowIssue
from gateway.divisions.registry import DivisionRegistry
from message_schemas.canonical import canonical_sha256
from message_schemas.timezone import SHANGHAI

BATCH_SIZE = 500
QUEUE_BATCHES = 2


class Submitter(Protocol):
    """Sends a batch of message bodies; returns the gateway's batch answer
    (``{"results": [{"index", "status", "state", "problem", …}]}``)."""

    def submit_batch(self, bodies: Sequence[bytes]) -> dict[str, Any]: ...


@dataclass
class ImportSummary:
    source: str
    rows: int = 0
    converted: int = 0  # rows that became valid messages
    rejected: int = 0  # rows with problems, not sent
    accepted: int = 0  # newly accepted by the gateway
    duplicates: int = 0  # the gateway already had them (an earlier run)
    already_sent: int = 0  # skipped: the ledger shows them accepted with the same content
    refused: int = 0  # sent and refused by the gateway
    unmatched: int = 0  # accepted but no node covers the recipient (the console sees them)
    warnings: int = 0
    issues: int = 0  # lines in the report
    dry_run: bool = False
    report: Path | None = None
    elapsed_s: float = 0.0
    states: dict[str, int] = field(default_factory=dict)


class ImportAborted(AdapterError):
    """The gateway could not be reached (after retries) or refused the whole import; the
    summary says how far it got, and a re-run continues from there."""

    kind = "unavailable"
    title = "Import stopped / 导入中止"
    slug = "import-aborted"

    def __init__(self, reason: str, summary: ImportSummary) -> None:
        super().__init__(reason)
        self.summary = summary


_STOP = object()
IN_FLIGHT = 2  # batches at the gateway at once


@dataclass
class _Pending:
    batch: list[Converted]
    todo: list[tuple[Converted, str]]  # (row, digest) sent; the rest were already sent
    future: Future[dict[str, Any]] | None

    def done(self) -> bool:
        return self.future is None or self.future.done()


class _Sender(threading.Thread):
    """Owns the report writer, the ledger and the submitter: one thread touches each."""

    def __init__(
        self,
        summary: ImportSummary,
        report: ReportWriter,
        converter: Converter,
        submitter: Submitter | None,
        ledger: Ledger | None,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        super().__init__(name="import-sender", daemon=True)
        self.inbox: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_BATCHES)
        self.summary = summary
        self.report = report
        self.converter = converter
        self.submitter = submitter
        self.ledger = ledger
        self.on_progress = on_progress
        self.failure: BaseException | None = None

    def run(self) -> None:
        # Up to IN_FLIGHT batches are at the gateway at once (its validation of one overlaps
        # its commit of another); their answers are taken in order, so the ledger and the
        # report are written in row order by this thread alone.
        pending: deque[_Pending] = deque()
        with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="import-post") as posts:
            while True:
                item = self.inbox.get()
                if item is _STOP:
                    break
                if self.failure is not None:
                    continue  # drain so the producer never blocks; nothing more is sent
                try:
                    issues, batch, rows = item
                    for issue in issues:
                        self.report.add(issue)
                    if self.on_progress is not None:
                        self.on_progress(rows - len(batch))  # the batch's rows when answered
                    if batch:
                        pending.append(self._post(posts, batch))
                    while pending and (len(pending) >= IN_FLIGHT or pending[0].done()):
                        self._finish(pending.popleft())
                except BaseException as exc:  # handed to the producer thread, which raises it
                    self.failure = exc
            while pending:
                try:
                    self._finish(pending.popleft())
                except BaseException as exc:
                    self.failure = self.failure or exc

    def _post(self, posts: ThreadPoolExecutor, batch: list[Converted]) -> _Pending:
        if self.submitter is None:
            return _Pending(batch, [], None)
        digests = [hashlib.sha256(c.body).hexdigest() for c in batch]
        skip = (
            self.ledger.already_sent(
                [(c.message_id, d) for c, d in zip(batch, digests, strict=True)]
            )
            if self.ledger is not None
            else set()
        )
        todo = [(c, d) for c, d in zip(batch, digests, strict=True) if c.message_id not in skip]
        self.summary.already_sent += len(batch) - len(todo)
        if not todo:
            return _Pending(batch, [], None)
        future = posts.submit(self.submitter.submit_batch, [c.body for c, _ in todo])
        return _Pending(batch, todo, future)

    def _finish(self, pending: _Pending) -> None:
        if pending.future is not None:
            self._record(pending.todo, pending.future.result())
        if self.on_progress is not None:
            self.on_progress(len(pending.batch))

    def _record(self, todo: list[tuple[Converted, str]], answer: dict[str, Any]) -> None:
        s = self.summary
        results = answer.get("results", [])
        now = datetime.now(SHANGHAI).isoformat()
        entries = []
        for (converted, digest), result in zip(todo, results, strict=True):
            status = int(result.get("status", 0))
            if status == 202:
                state = str(result.get("state", ""))
                s.states[state] = s.states.get(state, 0) + 1
                if result.get("duplicate"):
                    s.duplicates += 1
                else:
                    s.accepted += 1
                if state == "unmatched":
                    s.unmatched += 1
                    self.report.add(
                        RowIssue(
                            converted.row,
                            "",
                            "",
                            "accepted_unmatched",
                            "提示：已受理，但暂无接收节点（"
                            f"{result.get('unmatched_reason') or ''}），由管理员处理",
                        )
                    )
                entries.append(
                    Entry(
                        converted.message_id,
                        digest,
                        self.summary.source,
                        converted.row,
                        state,
                        result.get("recipient"),
                        result.get("due_at"),
                        now,
                        canonical_sha256(converted.normal),
                        result.get("receipt"),
                    )
                )
            else:
                s.refused += 1
                for issue in self._refusal(converted, status, result.get("problem") or {}):
                    self.report.add(issue)
        if self.ledger is not None and entries:
            self.ledger.record(entries)

    def _refusal(
        self, converted: Converted, status: int, problem: dict[str, Any]
    ) -> list[RowIssue]:
        row = converted.row
        errors = problem.get("errors") or []
        if status == 409 and any(e.get("rule") == "idempotency_conflict" for e in errors):
            return [
                RowIssue(
                    row,
                    "",
                    "",
                    "changed_since_sent",
                    "此行此前已报送，但内容已改变；网关不会覆盖已报送的通报，如需更正请另行联系户籍地",
                )
            ]
        issues = []
        for error in errors:
            path = str(error.get("field", ""))
            # "messages.3.subject.id_number" → "subject.id_number"
            parts = path.split(".", 2)
            if len(parts) == 3 and parts[0] == "messages" and parts[1].isdigit():
                path = parts[2]
            column = self.converter.column_of(path)
            issues.append(
                RowIssue(
                    row,
                    column,
                    "",
                    str(error.get("rule", "")),
                    "网关拒收：" + chinese_part(str(error.get("message", ""))),
                    path,
                )
            )
        if not issues:
            issues.append(
                RowIssue(
                    row,
                    "",
                    "",
                    f"http_{status}",
                    "网关拒收：" + chinese_part(str(problem.get("title", ""))),
                )
            )
        return issues


def run_import(
    path: Path,
    profile: Profile,
    *,
    sender: str,
    registry: DivisionRegistry,
    submitter: Submitter | None,
    report_path: Path,
    ledger: Ledger | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import one file; ``submitter=None`` is a dry run (convert and report only)."""
    started = time.perf_counter()
    summary = ImportSummary(source=path.name, dry_run=submitter is None, report=report_path)
    with open_records(path, encoding=encoding, sheet=sheet) as reader:
        converter = Converter(profile, reader.headers, sender=sender, registry=registry)
        with ReportWriter(report_path) as report:
            sender_thread = _Sender(summary, report, converter, submitter, ledger, on_progress)
            sender_thread.start()
            try:
                issues: list[RowIssue] = []
                batch: list[Converted] = []
                rows = 0  # in this chunk
                for raw in reader:
                    summary.rows += 1
                    rows += 1
                    result = converter.convert(raw)
                    if isinstance(result, Rejected):
                        summary.rejected += 1
                        issues.extend(result.issues)
                    else:
                        summary.converted += 1
                        summary.warnings += len(result.warnings)
                        issues.extend(result.warnings)  # in row order with the rejections
                        batch.append(result)
                    if len(batch) >= batch_size or len(issues) >= batch_size:
                        if sender_thread.failure is not None:
                            break
                        sender_thread.inbox.put((issues, batch, rows))
                        issues, batch, rows = [], [], 0
                if sender_thread.failure is None and rows:
                    sender_thread.inbox.put((issues, batch, rows))
            finally:
                sender_thread.inbox.put(_STOP)
                sender_thread.join()
            summary.issues = report.count
    summary.elapsed_s = time.perf_counter() - started
    failure = sender_thread.failure
    if failure is not None:
        if isinstance(failure, ImportAborted):
            raise failure
        raise ImportAborted(str(failure), summary) from failure
    return summary
