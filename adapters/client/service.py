"""What a county office does with the gateway: pull (收取), answer (答复), status (待办).

Order of effects, because crashes happen between any two lines:
- pull: store the message and commit, then acknowledge. A crash in between leaves it in the
  gateway inbox; the next pull finds it already stored (nothing written twice) and acknowledges.
- answer: the reply's id is derived from (own code, request id) and the envelope is written to
  the store before it is sent; a re-run finds it accepted and sends nothing, or resends the very
  same envelope, which the gateway answers as a duplicate.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from adapters.client import GatewayRefused, LocalStoreFailed
from adapters.client.api import MAX_BATCH, GatewayApi
from adapters.client.receipts import Checked, check, check_digest
from adapters.client.store import ClientStore, StoredMessage
from adapters.client.workbook import (
    ANSWER_COLUMNS,
    CORRECTION_FIELD,
    ID_COLUMN,
    ORIGIN_VALUE,
    OUTCOME,
    REMARKS,
    REPLY_OF,
    SHEET_OF_TYPE,
    SOURCES,
    TRANSFERRED_TO,
    TYPE_OF_SHEET,
    AnswerRow,
    RowProblem,
    column_for,
    correction_path,
    field_table,
    parse_code,
    read_answers,
    report_path,
    write_inbox_workbook,
    write_report,
)
from adapters.entries import split_list
from adapters.ledger import Ledger
from gateway.calendar.clock import WorkingDayClock
from gateway.calendar.service import load_clock
from gateway.divisions.registry import load_registry
from gateway.logs import get_logger
from message_schemas import SCHEMA_VERSION
from message_schemas.timezone import SHANGHAI
from message_schemas.validate import message_errors

log = get_logger("adapters.client")

# Fixed forever: a reply's id is uuid5(REPLY_NAMESPACE, "<own code>|<request id>"), so the same
# answer written twice, from any copy of the workbook, is one message at the gateway.
REPLY_NAMESPACE = uuid.UUID("8f4c1f5e-2b7a-5d3e-9c61-4a0e7b2d9f13")
PAGE_SIZE = 100
ANSWERED = frozenset({"answered_on_time", "answered_late"})


def _time(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


# --- pull ----------------------------------------------------------------------------------


@dataclass
class PullResult:
    received: int = 0  # new messages stored
    already_held: int = 0  # in the inbox but stored before (an earlier pull or a push)
    acknowledged: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    exported: int = 0
    workbook: Path | None = None


def _save_item(store: ClientStore, item: Mapping[str, Any], now: datetime) -> bool:
    envelope = item["envelope"]
    message_id = str(item["message_id"])
    try:
        new = store.save(
            message_id=message_id,
            type=str(item["type"]),
            envelope=envelope,
            received_via="pull",
            received_at=now,
            sender=str(envelope.get("sender") or ""),
            recipient=item.get("recipient"),
            in_reply_to=item.get("in_reply_to"),
            forwarded_from=item.get("forwarded_from"),
            seq=int(item["seq"]),
            available_at=_time(item.get("available_at")),
            due_at=_time(item.get("due_at")),
            due_provisional=bool(item.get("due_provisional")),
        )
        if not new:
            store.fill_delivery_info(
                message_id,
                seq=int(item["seq"]),
                recipient=item.get("recipient"),
                available_at=_time(item.get("available_at")),
                due_at=_time(item.get("due_at")),
                due_provisional=bool(item.get("due_provisional")),
            )
    except (sqlite3.Error, OSError) as exc:
        raise LocalStoreFailed(
            f"local store failed ({type(exc).__name__}); not acknowledged, the message stays "
            f"in the gateway inbox / 本地库写入失败，未签收，报文仍在网关收件箱",
            message_id=message_id,
        ) from exc
    return new


def _workbook_path(out_dir: Path, now: datetime) -> Path:
    stamp = now.astimezone(SHANGHAI).strftime("%Y%m%d_%H%M%S")
    path = out_dir / f"收件_{stamp}.xlsx"
    n = 2
    while path.exists():
        path = out_dir / f"收件_{stamp}_{n}.xlsx"
        n += 1
    return path


def export_unexported(
    store: ClientStore, out_dir: Path, *, now: datetime
) -> tuple[Path, int] | None:
    """Everything stored and not yet in a workbook (pulled or pushed) → one new workbook."""
    messages = store.unexported()
    if not messages:
        return None
    path = _workbook_path(out_dir, now)
    write_inbox_workbook(path, messages)
    store.mark_exported([m.message_id for m in messages], now)
    return path, len(messages)


def pull(
    store: ClientStore,
    api: GatewayApi,
    out_dir: Path,
    *,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> PullResult:
    """Collect the inbox: store each message (committed), then acknowledge it; then write the
    workbook of what is new for the clerks. Stops at the first message it cannot store."""
    result = PullResult()
    after = 0
    while True:
        page = api.inbox(after, page_size)
        items = page.get("messages") or []
        for item in items:
            message_id = str(item["message_id"])
            if _save_item(store, item, now):
                result.received += 1
                result.by_type[str(item["type"])] += 1
            else:
                result.already_held += 1
            # Only now, with the message on disk, may the gateway forget it.
            api.ack(message_id)
            store.mark_acked(message_id, now)
            result.acknowledged += 1
            log.info("message collected", message_id=message_id)
        if len(items) < page_size:
            break
        after = int(page.get("next_after", after))
    exported = export_unexported(store, out_dir, now=now)
    if exported is not None:
        result.workbook, result.exported = exported
    return result


# --- answer --------------------------------------------------------------------------------


@dataclass
class AnswerResult:
    sent: int = 0  # accepted by the gateway now
    duplicates: int = 0  # the gateway already held exactly this answer
    already_sent: int = 0  # recorded as accepted locally: not sent again
    blank: int = 0  # rows left blank
    problems: list[RowProblem] = field(default_factory=list)
    report: Path | None = None

    @property
    def refused(self) -> int:
        return len({(p.sheet, p.row) for p in self.problems})


class _RowInvalid(Exception):
    def __init__(self, column: str, problem: str, rule: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem
        self.rule = rule


def reply_id(own_code: str, request_id: str) -> str:
    return str(uuid.uuid5(REPLY_NAMESPACE, f"{own_code}|{request_id}"))


def _code(table: str, column: str, text: str) -> str:
    code = parse_code(table, text)
    if code is None:
        raise _RowInvalid(
            column, "unknown value, pick from the list / 取值不在下拉列表中", "unknown_label"
        )
    return code


def _sources(values: Mapping[str, str]) -> list[str] | None:
    if not values.get(SOURCES):
        return None
    return [_code("verification_source", SOURCES, part) for part in split_list(values[SOURCES])]


def _corrections(values: Mapping[str, str], category: str | None) -> list[dict[str, Any]] | None:
    fields_text, origin_text = values.get(CORRECTION_FIELD, ""), values.get(ORIGIN_VALUE, "")
    if not fields_text:
        if origin_text:
            raise _RowInvalid(
                CORRECTION_FIELD, "name the field corrected / 请填写更正字段", "missing_column"
            )
        return None
    paths = []
    for part in split_list(fields_text):
        path = correction_path(part, category)
        if path is None:
            raise _RowInvalid(
                CORRECTION_FIELD, "unknown field / 无法识别的更正字段", "unknown_field"
            )
        paths.append(path)
    if not origin_text:
        raise _RowInvalid(
            ORIGIN_VALUE,
            "give the value in the origin's record / 请填写户籍地记录值",
            "missing_column",
        )
    # Several fields: their values one per line (or separated by ；) in the same order.
    values_list = [origin_text] if len(paths) == 1 else split_values(origin_text)
    if len(values_list) != len(paths):
        raise _RowInvalid(
            ORIGIN_VALUE,
            "one value per field, separated by ； / 户籍地记录值须与更正字段一一对应，用；分隔",
            "count_mismatch",
        )
    out = []
    for path, raw in zip(paths, values_list, strict=True):
        table = field_table(path, category)
        value = (parse_code(table, raw) or raw) if table else raw
        out.append({"field": path, "origin_value": value})
    return out


def split_values(text: str) -> list[str]:
    parts = [p.strip() for chunk in text.splitlines() for p in chunk.replace(";", "；").split("；")]
    return [p for p in parts if p]


def build_body(row: AnswerRow, request: StoredMessage) -> dict[str, Any]:
    """The reply body from a filled row; raises _RowInvalid naming the column."""
    values = row.values
    outcome_column = OUTCOME[row.sheet]
    table = ANSWER_COLUMNS[row.sheet][0][2]
    assert table is not None
    if not values.get(outcome_column):
        raise _RowInvalid(outcome_column, "choose a result / 请选择结果", "missing_column")
    body: dict[str, Any] = {"outcome": _code(table, outcome_column, values[outcome_column])}
    sources = _sources(values)
    if sources is not None:
        body["verified_sources"] = sources
    if row.sheet == "通报":
        if values.get(TRANSFERRED_TO):
            body["transferred_to"] = values[TRANSFERRED_TO]
        category = (request.envelope.get("body") or {}).get("category")
        corrections = _corrections(values, category)
        if corrections is not None:
            body["corrections"] = corrections
        if values.get(REMARKS):
            body["remarks"] = values[REMARKS]
    elif row.sheet == "查询":
        if values.get("答复内容"):
            body["answer"] = values["答复内容"]
    elif values.get("办理情况"):
        body["result"] = values["办理情况"]
    return body


def _own_code(store: ClientStore, api: GatewayApi, request: StoredMessage) -> str | None:
    """The code this county answers as: the county part of the request's recipient (a
    notification is addressed to the person's village, but it is the county office that
    answers, and compliance counts the answer for the county). A pushed message may not
    name its recipient in the envelope (the gateway derived it); then ask the gateway."""
    recipient: Any = request.recipient
    if not recipient:
        view = api.status(request.message_id)
        recipient = view.get("recipient")
        if not (isinstance(recipient, str) and recipient):
            return None
        _refresh_from_view(store, request.message_id, view)
    return str(recipient)[:6]


def _problem(row: AnswerRow, column: str, problem: str, rule: str) -> RowProblem:
    return RowProblem(row.sheet, row.row, row.message_id, column, problem, rule)


def _prepare(
    store: ClientStore, api: GatewayApi, row: AnswerRow, now: datetime
) -> dict[str, Any] | str | list[RowProblem]:
    """The envelope to send; "sent" if it was accepted before; or the row's problems."""
    request = store.get(row.message_id) if row.message_id else None
    if request is None:
        return [
            _problem(
                row,
                ID_COLUMN,
                "no such message in the local store (pull first) / 本地库中没有该报文（请先收取）",
                "unknown_request",
            )
        ]
    if TYPE_OF_SHEET[row.sheet] != request.type:
        return [
            _problem(
                row,
                ID_COLUMN,
                "message is not of this sheet's kind / 报文类型与工作表不符",
                "sheet_mismatch",
            )
        ]
    try:
        body = build_body(row, request)
    except _RowInvalid as exc:
        return [_problem(row, exc.column, exc.problem, exc.rule)]
    own = _own_code(store, api, request)
    if own is None:
        return [
            _problem(
                row, ID_COLUMN, "own division code unknown / 无法确定本地区划代码", "no_recipient"
            )
        ]
    answer_id = reply_id(own, request.message_id)
    previous = store.get_answer(answer_id)
    if previous is not None and previous.status == "accepted":
        return "sent"
    if previous is not None and previous.envelope.get("body") == body:
        envelope = previous.envelope  # same content, same created_at: a true repeat
    else:
        envelope = {
            "message_id": answer_id,
            "schema_version": SCHEMA_VERSION,
            "type": REPLY_OF[request.type],
            "sender": own,
            "recipient": request.sender,
            "created_at": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "in_reply_to": request.message_id,
            "body": body,
        }
    errors = message_errors(envelope, divisions=load_registry())
    if errors:
        return [_problem(row, column_for(row.sheet, e.field), e.message, e.rule) for e in errors]
    return envelope


def _item_problems(row: AnswerRow, item: Mapping[str, Any]) -> list[RowProblem]:
    problem = item.get("problem") or {}
    prefix = f"messages.{item.get('index')}."
    errors = problem.get("errors") or []
    if not errors:
        text = str(problem.get("detail") or problem.get("title") or f"HTTP {item.get('status')}")
        return [_problem(row, "", text, str(problem.get("type", "")).rsplit("/", 1)[-1])]
    return [
        _problem(
            row,
            column_for(row.sheet, str(e.get("field", "")).removeprefix(prefix)),
            str(e.get("message", "")),
            str(e.get("rule", "")),
        )
        for e in errors
    ]


def answer(
    store: ClientStore, api: GatewayApi, file: Path, *, now: datetime | None = None
) -> AnswerResult:
    """Send the answers filled in a workbook; rows not sent are listed in ``<name>.回执.xlsx``."""
    now = now or datetime.now(SHANGHAI)
    rows, blank = read_answers(file)
    result = AnswerResult(blank=blank)
    seen: set[str] = set()
    ready: list[tuple[AnswerRow, dict[str, Any]]] = []
    for row in rows:
        if row.message_id and row.message_id in seen:
            result.problems.append(
                _problem(
                    row,
                    ID_COLUMN,
                    "answered twice in this file / 同一报文填写了两次",
                    "duplicate_row",
                )
            )
            continue
        seen.add(row.message_id)
        prepared = _prepare(store, api, row, now)
        if prepared == "sent":
            result.already_sent += 1
        elif isinstance(prepared, list):
            result.problems.extend(prepared)
        elif isinstance(prepared, dict):
            ready.append((row, prepared))
    for _row, envelope in ready:  # written before sending: a re-run resends the same bytes
        store.record_answer(
            answer_message_id=envelope["message_id"],
            request_id=envelope["in_reply_to"],
            type=envelope["type"],
            envelope=envelope,
            created_at=now,
        )
    for start in range(0, len(ready), MAX_BATCH):
        chunk = ready[start : start + MAX_BATCH]
        response = api.submit_batch([envelope for _row, envelope in chunk])
        for item in response.get("results") or []:
            row, envelope = chunk[int(item["index"])]
            status = int(item.get("status", 0))
            if status == 202:
                store.answer_result(
                    envelope["message_id"],
                    state="accepted",
                    http_status=202,
                    at=now,
                    receipt=item.get("receipt"),
                )
                if item.get("duplicate"):
                    result.duplicates += 1
                else:
                    result.sent += 1
            else:
                store.answer_result(
                    envelope["message_id"],
                    state="refused",
                    http_status=status,
                    at=now,
                    problem=item.get("problem"),
                )
                result.problems.extend(_item_problems(row, item))
    if result.problems:
        result.problems.sort(key=lambda p: (p.sheet, p.row))
        result.report = report_path(file)
        write_report(result.report, result.problems)
    log.info(
        "answers sent",
        sent=result.sent,
        duplicates=result.duplicates,
        refused=result.refused,
    )
    return result


# --- status --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenItem:
    message_id: str
    type: str
    sender: str
    due_at: datetime | None
    due_provisional: bool
    # Working days from today to the due date; for an overdue item minus the working days
    # elapsed since it (0 on the weekend right after a Friday deadline: overdue all the same).
    working_days_left: int | None
    answer_state: str | None
    overdue: bool  # a fact of time: now is past due_at


def _refresh_from_view(store: ClientStore, message_id: str, view: Mapping[str, Any]) -> None:
    stamps = view.get("timestamps") or {}
    answered = view.get("response") in ANSWERED or view.get("state") in ("answered", "closed")
    answer_id = view.get("answer_id")
    store.update_from_status(
        message_id,
        recipient=view.get("recipient"),
        due_at=_time(stamps.get("due_at")),
        due_provisional=bool(view.get("due_provisional")),
        answered_by=str(answer_id) if answered and answer_id else None,
        answered_at=_time(stamps.get("answered_at")),
    )


@cache
def packaged_clock() -> WorkingDayClock:
    """The client counts on the packaged calendar (a county loads no schedule files)."""
    return load_clock(None)


def _working_days_left(due: datetime | None, now: datetime) -> int | None:
    """Working days in (today, due date]; once overdue, minus those in (due date, today]."""
    if due is None:
        return None
    try:
        clock = packaged_clock()
        today = now.astimezone(SHANGHAI).date()
        due_date = due.astimezone(SHANGHAI).date()
        if now > due:
            return -clock.working_days_between(due_date, today)
        return clock.working_days_between(today, due_date)
    except Exception:  # the figure is a convenience; the due date itself is what counts
        log.warning("working-day count unavailable", exc_info=True)
        return None


def status(
    store: ClientStore,
    api: GatewayApi | None = None,
    *,
    now: datetime | None = None,
) -> list[OpenItem]:
    """Requests still to answer, soonest deadline first. With ``api`` each is refreshed from
    GET /messages/{id} first (deadline, and whether it was answered some other way)."""
    now = now or datetime.now(SHANGHAI)
    if api is not None:
        for request in store.open_requests():
            try:
                view = api.status(request.message_id)
            except GatewayRefused:
                continue  # no longer visible to us: keep what the store knows
            _refresh_from_view(store, request.message_id, view)
    return [
        OpenItem(
            message_id=m.message_id,
            type=m.type,
            sender=m.sender,
            due_at=m.due_at,
            due_provisional=m.due_provisional,
            working_days_left=_working_days_left(m.due_at, now),
            answer_state=m.answer_state,
            overdue=m.due_at is not None and now > m.due_at,
        )
        for m in store.open_requests()
    ]


def sheet_label(message_type: str) -> str:
    return SHEET_OF_TYPE.get(message_type, message_type)


__all__ = [
    "AnswerResult",
    "OpenItem",
    "PullResult",
    "answer",
    "export_unexported",
    "pull",
    "reply_id",
    "status",
]


@dataclass
class ReceiptCheck:
    verified: int = 0
    missing: list[str] = field(default_factory=list)  # accepted before receipts existed
    invalid: list[Checked] = field(default_factory=list)


def verify_receipts(
    store: ClientStore | None, api: GatewayApi, ledger: Ledger | None = None
) -> ReceiptCheck:
    """Check every stored receipt against the gateway's published keys: the answers in the
    local store, and the rows of an import ledger when given."""
    jwks = api.jwks()
    result = ReceiptCheck()
    # (message id, receipt, the envelope kept, or its canonical digest)
    kept: list[tuple[str, str | None, Mapping[str, Any] | None, str]] = []
    for sent, receipt in store.sent_receipts() if store is not None else []:
        kept.append((str(sent.get("message_id")), receipt, sent, ""))
    for message_id, sha256, receipt in ledger.receipts() if ledger is not None else []:
        kept.append((message_id, receipt if sha256 else None, None, sha256 or ""))
    for message_id, receipt, envelope, digest in kept:
        if receipt is None:
            result.missing.append(message_id)
            continue
        checked = (
            check(receipt, envelope, jwks)
            if envelope is not None
            else check_digest(receipt, message_id, digest, jwks)
        )
        if checked.ok:
            result.verified += 1
        else:
            result.invalid.append(checked)
    return result
