"""The audit log for an auditor: CSV, UTF-8 with BOM (Excel opens it), Chinese headers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import orjson
from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.chain import ACTIONS, ACTOR_KINDS
from message_schemas.timezone import SHANGHAI

HEADERS = [
    "序号 seq",
    "时间 time (Asia/Shanghai)",
    "主体类型 actor kind",
    "主体 actor",
    "操作 action",
    "报文数 count",
    "报文编号 message ids",
    "说明 detail",
    "前一条哈希 prev hash",
    "本条哈希 entry hash",
]


def write_csv(session: Session, first: date, last: date) -> str:
    """Entries from local day ``first`` to ``last``, both included."""
    since = datetime.combine(first, time(), SHANGHAI)
    until = datetime.combine(last + timedelta(days=1), time(), SHANGHAI)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in repository.entries(session, since=since, until=until):
        writer.writerow(
            [
                row.seq,
                row.at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                ACTOR_KINDS.get(row.actor_kind, row.actor_kind),
                row.actor,
                ACTIONS.get(row.action, row.action),
                row.count,
                " ".join(orjson.loads(row.message_ids)),
                row.detail,
                # prefixed: a spreadsheet reads an all-digit hash (the first entry's zeros) as
                # the number 0 (seen in Gnumeric); "sha256:…" stays text
                f"sha256:{row.prev_hash}",
                f"sha256:{row.entry_hash}",
            ]
        )
    return buffer.getvalue()
