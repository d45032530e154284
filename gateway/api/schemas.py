"""The shapes of what the API answers, for the OpenAPI document (PROTOCOL §8.9).

The endpoints build their JSON directly (the inbox splices stored envelopes, the batch writes
bytes) and are not validated against these on the way out; tests compare the two
(tests/api/test_openapi_schemas.py, and the schemathesis run checks every response).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """Responses may gain fields in a later minor version: clients ignore unknown ones."""

    model_config = ConfigDict(extra="allow")


class FieldProblem(_Open):
    field: str = Field(description="字段路径 / field path, e.g. subject.id_number; `$` the body")
    rule: str = Field(description="规则代码 / machine-readable rule, e.g. id_checksum")
    message: str = Field(description="说明（中英）/ explanation, never the rejected value")


class Problem(_Open):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class Accepted(_Open):
    """Answer to an accepted message (202, and each accepted batch item)."""

    message_id: str
    state: str = Field(description="routed | unmatched")
    recipient: str | None = Field(description="the addressed division (may be a village)")
    node: str | None = Field(description="the node it was routed to (PROTOCOL §8.1)")
    due_at: str | None = Field(description="deadline of the answer, ISO 8601 with +08:00")
    due_provisional: bool
    duplicate: bool = Field(description="true: this message_id was accepted before")
    unmatched_reason: str | None
    receipt: str | None = Field(
        default=None,
        description="signed receipt, compact JWS (EdDSA), the same on a duplicate (PROTOCOL §8.7)",
    )


class Jwk(_Open):
    kty: str = Field(description="OKP")
    crv: str = Field(description="Ed25519")
    x: str = Field(description="public key, base64url")
    kid: str
    alg: str = Field(description="EdDSA")
    use: str = Field(description="sig")


class Jwks(_Open):
    """The gateway's receipt verification keys, retired ones included (RFC 7517)."""

    keys: list[Jwk]


class BatchItem(_Open):
    index: int
    message_id: str | None
    status: int = Field(description="202 accepted, else the problem's status")
    problem: Problem | None = None


class BatchResult(_Open):
    accepted: int
    rejected: int
    results: list[BatchItem]


class Attempt(_Open):
    attempt_no: int
    started_at: str | None
    endpoint: str | None = Field(description="scheme://host[:port]/path, never credentials")
    status_code: int | None
    error: str | None
    latency_ms: int | None
    outcome: str | None


class Timestamps(_Open):
    accepted_at: str | None
    available_at: str | None
    delivered_at: str | None
    acknowledged_at: str | None
    answered_at: str | None
    closed_at: str | None
    due_at: str | None


class Lifecycle(_Open):
    """PROTOCOL §5: what GET /api/v1/messages/{id} shows (never the envelope)."""

    message_id: str
    type: str
    kind: str | None
    sender: str
    recipient: str | None
    node: str | None
    in_reply_to: str | None
    forwarded_from: str | None
    state: str
    state_label: str | None
    delivery: str
    response: str
    response_label: str | None
    unmatched_reason: str | None
    unmatched_reason_label: str | None
    answer_id: str | None
    due_provisional: bool
    submitted_on_time: bool | None
    timestamps: Timestamps
    attempts: list[Attempt]


class InboxItem(_Open):
    seq: int
    message_id: str
    type: str
    recipient: str | None
    in_reply_to: str | None
    forwarded_from: str | None
    available_at: str | None
    due_at: str | None
    due_provisional: bool
    envelope: dict[str, Any] = Field(description="the message exactly as sent (Message)")


class Inbox(_Open):
    messages: list[InboxItem]
    next_after: int = Field(description="cursor for the next page (after=)")


class Acknowledged(_Open):
    message_id: str
    acknowledged_at: str | None


class DueWindow(_Open):
    amount: int
    unit: str


class DueDate(_Open):
    available_date: str
    window: DueWindow
    due_at: str
    due_date: str
    provisional: bool


class RecordResult(_Open):
    index: int
    message_id: str | None
    status: int
    problem: Problem | None = None


class RecordsResult(_Open):
    accepted: int
    rejected: int
    results: list[RecordResult]


class Health(_Open):
    status: str


class Readiness(_Open):
    status: str = Field(description="ready | not ready")
    checks: dict[str, str]
