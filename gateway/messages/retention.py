"""The retention job: purge the personal data of messages finished longer ago than their rule
allows (gateway.privacy.retention). Idempotent and safe to run late, twice or in several
processes at once: a purged row is not purged again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.logs import get_logger
from gateway.messages import repository
from gateway.messages.lifecycle import State
from gateway.privacy.retention import Rule
from message_schemas.kinds import REPLY_TYPES

log = get_logger("gateway.retention")
BATCH = 1000


def purge_expired(
    sessions: sessionmaker[Session], rules: list[Rule], now: datetime
) -> dict[str, int]:
    """Purge what every rule allows, in batches; the count per rule."""
    counts: dict[str, int] = {}
    for rule in rules:
        key = f"{rule.type or '*'}:{rule.state}"
        # "*:acknowledged" can only mean replies: an acknowledged request is still open
        types = (
            sorted(REPLY_TYPES) if rule.type is None and rule.state == State.ACKNOWLEDGED else None
        )
        total = 0
        while True:
            with sessions() as session:
                ids = repository.purgeable(
                    session,
                    message_type=rule.type,
                    types=types,
                    state=rule.state,
                    since=rule.since,
                    before=now - timedelta(days=rule.days),
                    limit=BATCH,
                )
                done = repository.purge(session, ids, now)
                session.commit()
            total += done
            if len(ids) < BATCH:
                break
        if total:
            log.info("personal data purged", rule=key, messages=total)
        counts[key] = total
    return counts


async def run_purges(
    sessions: sessionmaker[Session],
    rules: list[Rule],
    now: Callable[[], datetime],
    every_s: float,
    stop: asyncio.Event,
) -> None:
    """Purge at start and then every ``every_s`` until ``stop`` (the scheduler of the
    compliance work will take this job over)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(purge_expired, sessions, rules, now())
        except Exception as exc:  # the next round tries again; serving goes on
            log.warning("retention purge failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
