"""What key rotation does to the stored messages: re-wrap every data key under the active
key-encryption key, in batches, while the gateway keeps serving.

Only the 60-byte wrapped data keys change; the envelopes are not touched. Each batch is its
own transaction, so a rotation killed half-way is resumed by running `gateway keys rewrap`
(or the rotation again): it picks up whatever is still under an older key. Processes that
still seal with the old key for a moment after the rotation (they look at the keyring file
every few seconds) are caught by the final pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.messages import repository
from gateway.privacy.sealing import Sealer

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Rewrapped:
    rows: int
    seconds: float
    active: str


def rewrap(
    sessions: sessionmaker[Session],
    sealer: Sealer,
    *,
    settle_s: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> Rewrapped:
    """Re-wrap until no data key is under an older key; then, after ``settle_s`` (the other
    processes' keyring check interval), once more for what they sealed meanwhile."""
    began = time.perf_counter()
    active = sealer.keys.active().id
    total = 0
    for final in (False, True):
        if final:
            if settle_s <= 0:
                break
            time.sleep(settle_s)
        after = 0  # each pass walks the table once, in seq order
        while True:
            older = {k.id for k in sealer.keys.all() if k.id != active}
            with sessions() as session:
                page = repository.data_keys_after(session, after, BATCH)
                if not page:
                    break
                after = page[-1].seq
                batch = [w for w in page if w.kek_id in older]
                updates = []
                for wrapped in batch:
                    new_kek, new_key = sealer.rewrap(
                        wrapped.message_id, wrapped.kek_id, wrapped.data_key
                    )
                    updates.append(
                        {
                            "b_seq": wrapped.seq,
                            "b_old": wrapped.kek_id,
                            "b_new": new_kek,
                            "b_key": new_key,
                        }
                    )
                repository.set_data_keys(session, updates)
                session.commit()
            total += len(batch)
            if progress is not None:
                progress(total)
    return Rewrapped(total, time.perf_counter() - began, active)
