"""Ingest decisions: validate → authorise → idempotency → route → obligation → store, for one
message or a batch, in one transaction the caller commits. The pipeline around them (decide →
record → after commit) is gateway/messages/pipeline.py, the only way in.

A batch is decided item by item in order (a later item sees an earlier one: a duplicate id in
the same batch is answered like a repeat submission), then written with a few bulk statements.
Nothing here commits; the HTTP edge commits once per request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from gateway.audit import chain as audit
from gateway.audit.chain import Actor
from gateway.calendar.clock import Deadline
from gateway.calendar.errors import CalendarRangeError
from gateway.calendar.schedule import MAX_YEAR, MIN_YEAR
from gateway.calendar.windows import Window, WindowTable
from gateway.delivery import outbox
from gateway.divisions.address import CONFIDENCE_MIN, parse_address
from gateway.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    InvalidInput,
    ItemFailed,
    MessageInvalid,
    NotFound,
)
from gateway.logs import get_logger
from gateway.messages import lifecycle, repository
from gateway.messages.envelopes import open_envelope
from gateway.messages.repository import Stored
from gateway.nodes import repository as nodes_repository
from gateway.nodes.service import Principal
from gateway.privacy.receipts import (
    PendingReceipts,
    Receipt,
    ReceiptRef,
    ReceiptSigner,
    receipt_text,
)
from gateway.privacy.sealing import Sealer
from gateway.reference import Reference
from gateway.routing.table import UNMATCHED_ADDRESS, UNMATCHED_NO_NODE, Route, RoutingTable
from message_schemas.errors import FieldError, InvalidMessage
from message_schemas.timezone import SHANGHAI
from message_schemas.v1.envelope import AnyMessage, Feedback, Notification
from message_schemas.validate import validate_message

log = get_logger("gateway.messages")
# An address must name its county at least this surely to route by it (docs/divisions.md).
UNPARSED_ADDRESS = ""  # recipient marker: no code, and the address named no county clearly
# Forwarded copies of a notification get a deterministic id: forwarding twice is impossible.
FORWARD_NAMESPACE = uuid.UUID("3d0f6a4e-1c55-5b8e-9a3e-6f1f2b8c4d21")


@dataclass(frozen=True, slots=True)
class Accepted:
    message_id: str
    state: str
    recipient: str | None
    due_at: datetime | None
    due_provisional: bool
    duplicate: bool = False
    unmatched_reason: str | None = None
    node: str | None = None  # the node it was routed to (PROTOCOL §8.1)
    receipt: Receipt = None  # signed at acceptance (PROTOCOL §8.7)

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "state": self.state,
            "recipient": self.recipient,
            "node": self.node,
            "due_at": self.due_at.astimezone(SHANGHAI).isoformat() if self.due_at else None,
            "due_provisional": self.due_provisional,
            "duplicate": self.duplicate,
            "unmatched_reason": self.unmatched_reason,
            "receipt": receipt_text(self.receipt),
        }


@dataclass(slots=True)
class ItemResult:
    index: int
    message_id: str | None
    accepted: Accepted | None = None
    error: GatewayError | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """One submitted item after validation: the message (None when invalid), its canonical
    JSON and digest, and the error that refuses it, if any."""

    index: int
    message_id: str | None
    msg: AnyMessage | None
    envelope: bytes
    digest: str
    error: GatewayError | None
    # Decided here, before the item joins a write group, so a date the clock cannot count
    # from fails this item alone: a request's deadline if it is routed now, and whether a
    # notification was submitted within its window after the event.
    deadline: Deadline | None = None
    submitted_on_time: bool | None = None
    # A request's recipient and its receipt, made here too: signing is the costliest step of
    # ingest, and here it runs in the request's thread, beside the other requests, not in
    # the one write transaction. (A reply's depends on what is stored: signed in decide.)
    recipient: str | None = None
    route: Route | None = None  # the recipient's route in this request's routing table
    receipt: Receipt = None


@dataclass(slots=True)
class _Batch:
    """What the batch has decided so far (ids, answered originals, rows to write)."""

    stored: dict[str, Stored]
    new_ids: dict[str, tuple[str, Accepted]] = field(default_factory=dict)  # id → (hash, answer)
    answered: set[str] = field(default_factory=set)
    rows: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    push: list[str] = field(default_factory=list)  # ids routed to nodes with an endpoint

    def mark(self) -> tuple[int, int, int]:
        return len(self.rows), len(self.answers), len(self.push)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Forget what one item added after ``mark`` (it failed half-way)."""
        rows, answers, push = mark
        for row in self.rows[rows:]:
            self.new_ids.pop(row["message_id"], None)
        for answer in self.answers[answers:]:
            self.answered.discard(answer["b_id"])
        del self.rows[rows:], self.answers[answers:], self.push[push:]


class Ingestor:
    """Decides and records submissions for one request (one transaction)."""

    def __init__(
        self,
        principal: Principal,
        routing: RoutingTable,
        reference: Reference,
        now: datetime,
        person_secret: bytes,
        sealer: Sealer | None,
        receipts: ReceiptSigner | None,
    ) -> None:
        """``sealer`` and ``receipts`` are None only in the benchmark that measures their cost."""
        self.principal = principal
        self.sealer = sealer
        self.receipts = receipts
        self.person_secret = person_secret
        self.routing = routing
        self.reference = reference
        self.clock = reference.clock
        self.now = now
        # Every item of a request shares `now`: one deadline per window, one submission
        # deadline per event date, computed once.
        self._deadlines: dict[tuple[str, str | None], Deadline] = {}
        self._submission: dict[date, bool] = {}

    def _person_key(self, msg: AnyMessage) -> str | None:
        """Keyed digest of the person a request is about: orders pushes about one person
        without putting the ID number anywhere but the envelope."""
        subject = msg.subject
        if subject is None:
            return None
        identity = subject.id_number or f"{subject.name}|{subject.birth_date}"
        return hmac.new(self.person_secret, identity.encode(), "sha256").hexdigest()[:32]

    def _deadline(self, message_type: str, kind: str | None) -> Deadline:
        key = (message_type, kind)
        deadline = self._deadlines.get(key)
        if deadline is None:
            deadline = self.clock.due_at(
                self.now, window_of(self.reference.windows, message_type, kind)
            )
            self._deadlines[key] = deadline
        return deadline

    def _submitted_on_time(self, event_date: date) -> bool:
        on_time = self._submission.get(event_date)
        if on_time is None:
            window = self.reference.windows.window("notification_submission")
            on_time = self.clock.due_after(event_date, window).met_by(self.now)
            self._submission[event_date] = on_time
        return on_time

    # -- entry points -------------------------------------------------------------------
    def prepare(self, items: Sequence[bytes | MessageInvalid]) -> list[Prepared]:
        """Validate, authorise, canonicalise and count the item's dates: pure CPU work, done
        before the write transaction opens, so the database is held only for the decisions
        and the writes, and whatever an item's content can make fail fails here, for it alone.
        """
        prepared = []
        # a batch's receipts are signed by the helper process while the rest is decided
        pending = self.receipts.batch(len(items)) if self.receipts is not None else None
        for index, raw in enumerate(items):
            try:
                prepared.append(self._prepare_one(index, raw, pending))
            except Exception as exc:  # one item's surprise must not fail the others
                log.error(
                    "submission item failed in preparation",
                    error=type(exc).__name__,
                    node=self.principal.code,
                )
                failed = ItemFailed("item could not be processed / 该报文处理失败")
                prepared.append(Prepared(index, _raw_id(raw), None, b"", "", failed))
        if pending is not None:
            pending.flush()
        return prepared

    def _prepare_one(
        self, index: int, raw: bytes | MessageInvalid, pending: PendingReceipts | None = None
    ) -> Prepared:
        if isinstance(raw, MessageInvalid):  # refused while the request body was read
            return Prepared(index, None, None, b"", "", raw)
        try:
            msg = validate_message(raw, divisions=self.reference.registry)
        except InvalidMessage as exc:
            error = MessageInvalid("message invalid / 报文不合格", errors=exc.errors)
            return Prepared(index, _raw_id(raw), None, b"", "", error)
        envelope = msg.model_dump_json(exclude_none=True).encode()
        mid, digest = str(msg.message_id), hashlib.sha256(envelope).hexdigest()
        refused = self._authorise_sender(msg)
        if refused is not None or lifecycle.answers(msg.type) is not None:
            return Prepared(index, mid, msg, envelope, digest, refused)
        try:
            deadline = self._deadline(msg.type, _kind(msg))
            on_time = None
            if isinstance(msg, Notification):
                on_time = self._submitted_on_time(msg.body.event_date)
        except CalendarRangeError:
            error = MessageInvalid(
                "a date the working-day calendar cannot count / 日期超出工作日历范围",
                errors=[
                    FieldError(
                        "body.event_date",
                        "calendar_range",
                        f"the calendar counts {MIN_YEAR}–{MAX_YEAR} only "
                        f"/ 工作日历仅覆盖 {MIN_YEAR}–{MAX_YEAR} 年",
                    )
                ],
            )
            return Prepared(index, mid, None, b"", "", error)
        recipient = self._recipient(msg)
        route = self._route(recipient) if recipient is not None else None
        receipt: Receipt = None
        if route is not None and self.receipts is not None:
            routed = route.node_code is not None
            fields: dict[str, Any] = {
                "message_id": mid,
                "envelope": envelope,
                "sender": msg.sender,
                "recipient": recipient or None,
                "accepted_at": self.now,
                "due_at": deadline.due_at if routed else None,
            }
            if pending is None:
                receipt = self.receipts.sign(**fields)
            else:
                receipt = pending.add(self.receipts.fields(**fields))
        return Prepared(
            index, mid, msg, envelope, digest, None, deadline, on_time, recipient, route, receipt
        )

    def _recipient(self, msg: AnyMessage) -> str | None:
        """Where a request goes: its recipient, else the household code, else the household
        address when it names a county clearly enough (UNPARSED_ADDRESS when it does not: the
        message waits in the unmatched queue for a person); None when there is nothing."""
        assert msg.subject is not None  # the request models require a subject
        recipient = msg.recipient or msg.subject.hukou_code
        if recipient is None and msg.subject.hukou_address:
            match = parse_address(msg.subject.hukou_address, self.reference.registry)
            if match.code is not None and match.confidence >= CONFIDENCE_MIN:
                recipient = match.code
            else:
                recipient = UNPARSED_ADDRESS
        return recipient

    def _route(self, recipient: str) -> Route:
        if recipient == UNPARSED_ADDRESS:
            return Route(None, recipient, UNMATCHED_ADDRESS)
        return self.routing.route(recipient)

    # -- decisions ----------------------------------------------------------------------
    def _authorise_sender(self, msg: AnyMessage) -> GatewayError | None:
        if self.principal.role != "node":
            return Forbidden(
                "only nodes submit messages / 仅业务节点可提交报文",
                errors=[FieldError("sender", "role_cannot_submit", "role may not submit")],
            )
        if not self.principal.covers(msg.sender):
            return Forbidden(
                f"node {self.principal.code} may not send as {msg.sender} / 不得以其他地区名义发送",
                errors=[
                    FieldError("sender", "sender_not_yours", "not your code or a code under it")
                ],
            )
        return None

    def decide(self, item: Prepared, batch: _Batch) -> Accepted:
        """The item's fate against what is stored and what the batch decided so far."""
        msg, envelope, digest = item.msg, item.envelope, item.digest
        assert msg is not None
        mid = str(msg.message_id)
        repeat = self._repeat(mid, digest, batch)
        if repeat is not None:
            return repeat
        if lifecycle.answers(msg.type) is not None:
            return self._reply(msg, envelope, digest, batch)
        return self._request(item, batch)

    def _repeat(self, mid: str, digest: str, batch: _Batch) -> Accepted | None:
        earlier = batch.new_ids.get(mid)
        if earlier is not None:
            known_hash, answer = earlier
        elif mid in batch.stored:
            s = batch.stored[mid]
            known_hash = s.content_hash
            answer = Accepted(
                mid,
                s.accepted_state,
                s.recipient,
                s.due_at,
                s.due_provisional,
                unmatched_reason=s.unmatched_reason,
                node=s.node_code,
                receipt=s.receipt,
            )
        else:
            return None
        if known_hash != digest:
            raise Conflict(
                "message_id already used for other content / 报文编号已用于不同内容",
                errors=[
                    FieldError(
                        "message_id",
                        "idempotency_conflict",
                        "same message_id, different content; choose a new id / 请使用新的报文编号",
                    )
                ],
                message_id=mid,
            )
        return Accepted(
            answer.message_id,
            answer.state,
            answer.recipient,
            answer.due_at,
            answer.due_provisional,
            duplicate=True,
            unmatched_reason=answer.unmatched_reason,
            node=answer.node,
            receipt=answer.receipt,
        )

    def _request(self, item: Prepared, batch: _Batch) -> Accepted:
        msg, envelope, digest = item.msg, item.envelope, item.digest
        assert msg is not None
        recipient = item.recipient
        if recipient is None:
            raise MessageInvalid(
                "recipient unknown / 无法确定接收地",
                errors=[
                    FieldError(
                        "recipient",
                        "recipient_underivable",
                        "give recipient, subject.hukou_code or subject.hukou_address "
                        "/ 请填写接收地、户籍地区划代码或户籍地址",
                    )
                ],
            )
        row, accepted = self._routed_row(
            message_id=str(msg.message_id),
            message_type=msg.type,
            kind=_kind(msg),
            sender=msg.sender,
            recipient=recipient,
            envelope=envelope,
            digest=digest,
            deadline=item.deadline,
            person_key=self._person_key(msg),
            receipt=item.receipt,
            route=item.route,
        )
        if isinstance(msg, Notification):
            row["event_date"] = msg.body.event_date
            row["submitted_on_time"] = item.submitted_on_time
        batch.rows.append(row)
        if row["node_code"] in self.routing.push_nodes:
            batch.push.append(row["message_id"])
        batch.new_ids[accepted.message_id] = (digest, accepted)
        return accepted

    def _routed_row(
        self,
        *,
        message_id: str,
        message_type: str,
        kind: str | None,
        sender: str,
        recipient: str,
        envelope: bytes,
        digest: str,
        deadline: Deadline | None,
        person_key: str | None,
        in_reply_to: str | None = None,
        forwarded_from: str | None = None,
        receipt: Receipt = None,
        route: Route | None = None,
    ) -> tuple[dict[str, Any], Accepted]:
        """The row to store and the answer to give; the envelope sealed, and a receipt signed
        for what a sender submitted (a forwarded copy is the gateway's own: no receipt)."""
        route = route or self._route(recipient)
        routed = route.node_code is not None
        if not routed:
            deadline = None  # no obligation runs before the message reaches an inbox
        state = lifecycle.initial_state(routed)
        row: dict[str, Any] = {
            "message_id": message_id,
            "type": message_type,
            "kind": kind,
            "sender": sender,
            "sender_node": self.principal.code,
            "recipient": recipient or None,
            "node_code": route.node_code,
            "in_reply_to": in_reply_to,
            "forwarded_from": forwarded_from,
            "content_hash": digest,
            # plain str values: the database drivers adapt exact str fastest
            "state": state.value,
            "accepted_state": state.value,
            "delivery": lifecycle.Delivery.PENDING.value,
            "response": lifecycle.initial_response(message_type).value,
            "unmatched_reason": route.reason,
            "accepted_at": self.now,
            "available_at": self.now if routed else None,
            "due_at": deadline.due_at if deadline else None,
            "due_provisional": bool(deadline and deadline.provisional),
            "person_key": person_key,
            "event_date": None,
            "submitted_on_time": None,
        }
        row.update(self._sealed_columns(message_id, envelope))
        if receipt is None and self.receipts is not None and forwarded_from is None:
            receipt = self.receipts.sign(
                message_id=message_id,
                envelope=envelope,
                sender=sender,
                recipient=recipient or None,
                accepted_at=self.now,
                due_at=deadline.due_at if deadline and routed else None,
            )
        row["receipt"] = receipt
        accepted = Accepted(
            message_id,
            state,
            recipient or None,
            deadline.due_at if deadline else None,
            bool(deadline and deadline.provisional),
            unmatched_reason=route.reason,
            node=route.node_code,
            receipt=receipt,
        )
        return row, accepted

    def _sealed_columns(self, message_id: str, envelope: bytes) -> dict[str, Any]:
        if self.sealer is None:  # the benchmark's baseline only
            return {
                "envelope": envelope.decode(),
                "sealed_envelope": None,
                "data_key": None,
                "kek_id": None,
            }
        sealed = self.sealer.seal(message_id, envelope)
        return {
            "envelope": None,
            "sealed_envelope": sealed.ciphertext,
            "data_key": sealed.data_key,
            "kek_id": sealed.kek_id,
        }

    def _stored_envelope(self, stored: Stored) -> bytes:
        if self.sealer is None:  # the benchmark's baseline only
            assert stored.envelope is not None
            return stored.envelope.encode()
        return open_envelope(self.sealer, stored)

    def _reply(self, msg: AnyMessage, envelope: bytes, digest: str, batch: _Batch) -> Accepted:
        assert msg.in_reply_to is not None  # the reply models require it
        original_id = str(msg.in_reply_to)
        original = batch.stored.get(original_id)
        if original is None:
            raise InvalidInput(
                "in_reply_to names no message the gateway holds / 所答复的报文不存在",
                errors=[FieldError("in_reply_to", "unknown_message", "no such message / 无此报文")],
            )
        if original.node_code != self.principal.code:
            raise Forbidden(
                "you may answer only messages addressed to you / 只能答复发给本节点的报文",
                errors=[
                    FieldError(
                        "in_reply_to", "not_addressed_to_you", "not in your inbox / 非本节点报文"
                    )
                ],
            )
        if original.type != lifecycle.answers(msg.type):
            raise InvalidInput(
                f"a {msg.type} answers a {lifecycle.answers(msg.type)} / 答复类型与原报文不符",
                errors=[
                    FieldError("in_reply_to", "reply_type_mismatch", f"that is a {original.type}")
                ],
            )
        if original.answer_id is not None or original_id in batch.answered:
            raise Conflict(
                "already answered / 该报文已答复",
                errors=[FieldError("in_reply_to", "already_answered", "already answered / 已答复")],
                message_id=original_id,
            )
        if msg.recipient is not None and msg.recipient != original.sender:
            raise InvalidInput(
                "a reply goes to the sender of the message it answers / 答复须发往原发送地",
                errors=[
                    FieldError("recipient", "recipient_mismatch", "must equal the original sender")
                ],
            )
        transferred_to = self._transfer_target(msg)
        mid = str(msg.message_id)
        row, accepted = self._routed_row(
            message_id=mid,
            message_type=msg.type,
            kind=_kind(msg),
            sender=msg.sender,
            recipient=original.sender,
            envelope=envelope,
            digest=digest,
            deadline=None,
            person_key=original.person_key,
            in_reply_to=original_id,
        )
        # Everything this reply decides is computed before any of it is added to the batch.
        forward = self._forward(original, transferred_to) if transferred_to else None
        batch.rows.append(row)
        batch.new_ids[mid] = (digest, accepted)
        batch.answered.add(original_id)
        batch.answers.append(
            {
                "b_id": original_id,
                # the forward is a new obligation: a transferred notification is done
                "state": (lifecycle.ANSWER_AND_CLOSE if forward else lifecycle.ANSWER)
                .moves()["state"]
                .to,
                "response": lifecycle.answered_response(self.now, original.due_at),
                "answered_at": self.now,
                "answer_id": mid,
                "closed_at": self.now if forward else None,
            }
        )
        if forward is not None:
            forward_row, forward_accepted = forward
            batch.rows.append(forward_row)
            batch.new_ids[forward_row["message_id"]] = (
                forward_row["content_hash"],
                forward_accepted,
            )
            if forward_row["node_code"] in self.routing.push_nodes:
                batch.push.append(forward_row["message_id"])
        if row["node_code"] in self.routing.push_nodes:
            batch.push.append(mid)
        return accepted

    def _transfer_target(self, msg: AnyMessage) -> str | None:
        """The code a ``transferred`` feedback forwards to; refused when it leads back to the
        node that declared the transfer (its own code, a code under it, its own retired code):
        the copy would land in the same inbox and loop."""
        if not (isinstance(msg, Feedback) and msg.body.outcome == "transferred"):
            return None
        target = msg.body.transferred_to
        assert target is not None  # the feedback model requires it for `transferred`
        if self.routing.route(target).node_code == self.principal.code:
            raise MessageInvalid(
                "the person moved to a place this node serves itself: update the record "
                "instead / 迁入地由本节点负责，请直接更新本地记录",
                errors=[
                    FieldError(
                        "body.transferred_to",
                        "transfer_to_self",
                        "routes back to the node that declares the transfer / 迁入地路由回本节点",
                    )
                ],
            )
        return target

    def _forward(self, original: Stored, new_code: str) -> tuple[dict[str, Any], Accepted]:
        """The notification sent on to the jurisdiction the person moved to, as a new
        obligation under a new id (the sender stays the residence place that wrote it; its
        event date and whether it was submitted on time are the original's)."""
        new_id = str(uuid.uuid5(FORWARD_NAMESPACE, f"{original.message_id}:{new_code}"))
        doc = orjson.loads(self._stored_envelope(original))
        doc["message_id"] = new_id
        doc["recipient"] = new_code
        envelope = orjson.dumps(doc)
        kind = doc.get("body", {}).get("category")
        row, accepted = self._routed_row(
            message_id=new_id,
            message_type=original.type,
            kind=kind,
            sender=original.sender,
            recipient=new_code,
            envelope=envelope,
            digest=hashlib.sha256(envelope).hexdigest(),
            deadline=self._deadline(original.type, kind),
            person_key=original.person_key,
            forwarded_from=original.message_id,
        )
        row["sender_node"] = original.sender_node
        row["event_date"] = original.event_date
        row["submitted_on_time"] = original.submitted_on_time
        return row, accepted


def record_group(
    session: Session, jobs: Sequence[tuple[Ingestor, Sequence[Prepared]]]
) -> tuple[list[list[ItemResult]], list[str]]:
    """Decide and write the submissions of several requests in one transaction.

    Items are decided in order, each by its own request's ingestor (its principal and its
    ``now``), against one shared view of what is stored, so a repeat or a second answer is
    caught across requests as well as within one. An item that fails (a refusal, or an
    unexpected error) adds nothing to the batch and fails alone. Returns the results and the
    ids of the messages to push (their outbox rows are written here). The caller commits.
    """
    wanted = set()
    for _ingestor, prepared in jobs:
        for item in prepared:
            if item.msg is not None and item.message_id is not None:
                wanted.add(item.message_id)
                if item.msg.in_reply_to is not None:
                    wanted.add(str(item.msg.in_reply_to))
    batch = _Batch(stored=repository.find_stored(session, wanted))
    out = []
    for ingestor, prepared in jobs:
        results = []
        for item in prepared:
            if item.msg is None or item.error is not None:
                results.append(ItemResult(item.index, item.message_id, error=item.error))
                continue
            mark = batch.mark()
            try:
                accepted = ingestor.decide(item, batch)
                results.append(ItemResult(item.index, item.message_id, accepted=accepted))
            except GatewayError as exc:
                batch.rollback(mark)
                results.append(ItemResult(item.index, item.message_id, error=exc))
            except Exception as exc:  # fails this item only
                batch.rollback(mark)
                log.error(
                    "submission item failed",
                    message_id=item.message_id,
                    error=type(exc).__name__,
                )
                failed = ItemFailed("item could not be processed / 该报文处理失败")
                results.append(ItemResult(item.index, item.message_id, error=failed))
        out.append(results)
    for row in batch.rows:  # the batch's receipts, back from the signing helper
        if isinstance(row["receipt"], ReceiptRef):
            row["receipt"] = row["receipt"].value
    repository.insert_messages(session, batch.rows)
    outbox.add_to_outbox(session, batch.push)
    repository.record_answers(session, batch.answers)
    push = list(batch.push)
    push += _route_new_arrivals(session, jobs, batch, out)
    return out, push


def _route_new_arrivals(
    session: Session,
    jobs: Sequence[tuple[Ingestor, Sequence[Prepared]]],
    batch: _Batch,
    out: list[list[ItemResult]],
) -> list[str]:
    """Route again, against the nodes as the database holds them now, what this group left
    waiting for a node (``no_node``): each process routes on a table it refreshes every few
    seconds, and a node registered in between has already routed the waiting messages it
    covers, but not these, which were not yet committed. The routing lock orders this against
    a registration (see repository.lock_routing), so each waiting message is routed by one or
    the other. Returns the ids to push; updates the answers of the rerouted items."""
    waiting = [
        row["message_id"] for row in batch.rows if row["unmatched_reason"] == UNMATCHED_NO_NODE
    ]
    if not waiting:
        return []
    ingestor = jobs[0][0]
    fresh = ingestor.routing.with_nodes(locked_routing_nodes(session, exclusive=False))
    rerouted = route_waiting(session, fresh, ingestor.reference, only=waiting)
    if not rerouted:
        return []
    answers = {r.message_id: r for r in rerouted}
    for results in out:
        for result in results:
            moved = answers.get(result.message_id or "")
            if moved is not None and result.accepted is not None:
                result.accepted = dataclasses.replace(
                    result.accepted,
                    state=lifecycle.State.ROUTED,
                    due_at=moved.due_at,
                    due_provisional=moved.due_provisional,
                    unmatched_reason=None,
                    node=moved.node_code,
                )
    return [r.message_id for r in rerouted if r.push]


def locked_routing_nodes(session: Session, *, exclusive: bool) -> dict[str, str | None]:
    """The routing lock, then the nodes that receive messages (→ push endpoint)."""
    repository.lock_routing(session, exclusive=exclusive)
    return nodes_repository.routing_codes(session)


@dataclass(frozen=True, slots=True)
class Rerouted:
    message_id: str
    node_code: str
    due_at: datetime | None
    due_provisional: bool
    push: bool


def route_waiting(
    session: Session,
    routing: RoutingTable,
    reference: Reference,
    *,
    only: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[Rerouted]:
    """Route the messages waiting for a node (``unmatched/no_node``) that ``routing`` now
    covers (PROTOCOL §8.2). Each becomes available now (``now``, or when it was accepted for
    ``only``: messages of the group being written) and its deadline counts from then; one
    going to a node with an endpoint gets its outbox row. The caller holds the routing lock
    (``locked_routing_nodes``) and commits."""
    routed: list[Rerouted] = []
    updates: list[dict[str, Any]] = []
    deadlines: dict[tuple[str, str | None, date], Deadline] = {}
    for waiting in repository.waiting_for_node(session, only):
        route = routing.route(waiting.recipient)
        if route.node_code is None:
            continue
        available = now or waiting.accepted_at
        deadline = None
        if lifecycle.needs_answer(waiting.type):
            key = (waiting.type, waiting.kind, local_day(available))
            deadline = deadlines.get(key)
            if deadline is None:
                window = window_of(reference.windows, waiting.type, waiting.kind)
                deadline = reference.clock.due_at(available, window)
                deadlines[key] = deadline
        updates.append(
            {
                "b_id": waiting.message_id,
                "node_code": route.node_code,
                "available_at": available,
                "due_at": deadline.due_at if deadline else None,
                "due_provisional": bool(deadline and deadline.provisional),
            }
        )
        routed.append(
            Rerouted(
                waiting.message_id,
                route.node_code,
                deadline.due_at if deadline else None,
                bool(deadline and deadline.provisional),
                route.node_code in routing.push_nodes,
            )
        )
    repository.mark_routed(session, updates)
    outbox.add_to_outbox(session, [r.message_id for r in routed if r.push])
    return routed


def route_waiting_for_new_node(
    session: Session, routing: RoutingTable, reference: Reference, now: datetime
) -> list[Rerouted]:
    """After a node was registered in this unit of work: route, at once, every message
    waiting for a node that it now covers (PROTOCOL §8.2); deadlines count from ``now``."""
    fresh = routing.with_nodes(locked_routing_nodes(session, exclusive=True))
    return route_waiting(session, fresh, reference, now=now)


def _kind(msg: AnyMessage) -> str | None:
    """The sub-kind that selects a window and feeds the statistics."""
    body: Any = msg.body
    for attr in ("category", "topic", "urgency", "outcome"):
        value = getattr(body, attr, None)
        if isinstance(value, str):
            return value
    return None


def window_of(windows: WindowTable, message_type: str, kind: str | None) -> Window:
    """The window of a request from windows.toml: ``kind`` is the value of the field that
    chooses it (a query's topic, an assist request's urgency; ignored for one-window kinds)."""
    return windows.window(message_type, kind)


def _raw_id(raw: bytes | dict[str, Any] | MessageInvalid) -> str | None:
    """The message_id of an invalid item, to label its result — only when it is a UUID, so a
    wrong value (an ID number pasted in the wrong column, say) is never echoed back."""
    if isinstance(raw, MessageInvalid):
        return None
    try:
        doc = orjson.loads(raw) if isinstance(raw, bytes) else raw
    except orjson.JSONDecodeError:
        return None
    value = doc.get("message_id") if isinstance(doc, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def follow_push(
    session: Session, outcomes: Sequence[tuple[str, lifecycle.Outbox]], now: datetime
) -> None:
    """Settled pushes: each message's delivery follows (lifecycle.PUSH_OUTCOME)."""
    repository.follow_push(session, outcomes, now)


def requeued(session: Session, message_ids: Sequence[str]) -> None:
    """Re-queued pushes: their messages are pending again (lifecycle.REQUEUE)."""
    repository.requeued(session, message_ids)


@dataclass(frozen=True, slots=True)
class Collected:
    item: repository.InboxItem
    envelope: bytes  # opened: the canonical JSON as accepted


def collect_inbox(
    session: Session, sealer: Sealer, node_code: str, after: int, limit: int, now: datetime
) -> list[Collected]:
    """A page of the node's inbox, opened; the first collection of each is delivery by pull
    (lifecycle.PULL), and the day counts as a day the node collected (日登陆). The disclosure
    is written to the audit log in the same transaction: if it cannot be, nothing is returned.
    """
    items = repository.inbox(session, node_code, after, limit)
    opened = [
        Collected(
            item,
            open_envelope(sealer, item),
        )
        for item in items
    ]
    ids = [i.message_id for i in items]
    repository.mark_pulled(session, ids, now)
    repository.record_access(session, node_code, local_day(now), now)
    if ids:
        audit.record(session, now, Actor("node", node_code), "inbox_pull", ids, "GET /api/v1/inbox")
    return opened


def acknowledge(session: Session, node_code: str, message_id: str, now: datetime) -> datetime:
    """The node acknowledges receipt (idempotent: the first time is kept). Acknowledging a
    reply closes the request it answers (lifecycle.closes_request_on_ack). NotFound when the
    message is not in this node's inbox."""
    stored = repository.acknowledge(session, node_code, message_id, now)
    if stored is None:
        raise NotFound("not in your inbox / 收件箱中无此报文", message_id=message_id)
    if lifecycle.closes_request_on_ack(stored.type):
        request_id = repository.reply_target(session, message_id)
        if request_id is not None:
            repository.close_answered(session, request_id, now)
    acknowledged_at = repository.acknowledged_at(session, message_id)
    assert acknowledged_at is not None  # set above, or earlier
    return acknowledged_at
