"""The delivery domain's entry for other services: schedule stored messages for push.

Called by the messages service in the same unit of work as the messages it stores or routes
(transactional outbox); the delivery repository owns the table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gateway.delivery import repository


def add_to_outbox(session: Session, message_ids: Sequence[str]) -> None:
    repository.insert_outbox(session, message_ids)
