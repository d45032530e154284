"""What the API shows of a message: the lifecycle view (PROTOCOL.md §5), without the envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.messages import lifecycle
from gateway.messages.models import MessageRow
from gateway.routing.table import UNMATCHED_LABELS
from message_schemas.timezone import SHANGHAI


def iso(moment: datetime | None) -> str | None:
    """Timestamps are shown in Asia/Shanghai with their offset."""
    return moment.astimezone(SHANGHAI).isoformat() if moment is not None else None


def lifecycle_view(
    row: MessageRow, now: datetime, attempts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    response = lifecycle.effective_response(row.response, row.due_at, now)
    return {
        "message_id": row.message_id,
        "type": row.type,
        "kind": row.kind,
        "sender": row.sender,
        "recipient": row.recipient,
        "node": row.node_code,
        "in_reply_to": row.in_reply_to,
        "forwarded_from": row.forwarded_from,
        "state": row.state,
        "state_label": lifecycle.STATE_LABELS.get(row.state),
        "delivery": row.delivery,
        "response": response,
        "response_label": lifecycle.RESPONSE_LABELS.get(response),
        "unmatched_reason": row.unmatched_reason,
        "unmatched_reason_label": UNMATCHED_LABELS.get(row.unmatched_reason or ""),
        "answer_id": row.answer_id,
        "due_provisional": row.due_provisional,
        "submitted_on_time": row.submitted_on_time,
        "timestamps": {
            "accepted_at": iso(row.accepted_at),
            "available_at": iso(row.available_at),
            "delivered_at": iso(row.delivered_at),
            "acknowledged_at": iso(row.acknowledged_at),
            "answered_at": iso(row.answered_at),
            "closed_at": iso(row.closed_at),
            "due_at": iso(row.due_at),
        },
        "attempts": [{**a, "started_at": iso(a["started_at"])} for a in (attempts or [])],
    }
