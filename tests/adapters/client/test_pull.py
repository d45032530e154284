"""Pull: store first, acknowledge after; nothing lost, nothing stored twice."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest

from adapters.client import LocalStoreFailed
from adapters.client.api import GatewayApi
from adapters.client.service import pull
from adapters.client.store import ClientStore
from tests.adapters.client.conftest import County
from tests.api.conftest import example


def _now(county: County) -> Any:
    return county.gw.time.now()


def test_pull_stores_then_acknowledges_and_a_second_pull_finds_nothing(county: County) -> None:
    notification = example("notification.birth")
    assist = example("assist_request")  # recipient derived from hukou_code 430582001012
    county.send(notification)
    county.send(assist)
    county.gw.time.advance(timedelta(minutes=30))

    result = pull(county.store, county.api, county.out, now=_now(county))

    assert (result.received, result.acknowledged, result.already_held) == (2, 2, 0)
    assert dict(result.by_type) == {"notification": 1, "assist_request": 1}
    assert county.gateway_inbox() == []  # acknowledged: gone from the gateway inbox
    stored = county.store.get(notification["message_id"])
    assert stored is not None
    assert stored.received_via == "pull" and stored.acked_at is not None
    assert stored.due_at is not None and stored.due_at.isoformat().startswith("2026-11-30T23:59")
    assert stored.envelope["subject"]["id_number"] == notification["subject"]["id_number"]
    assert county.status(notification["message_id"])["timestamps"]["acknowledged_at"] is not None
    assert result.workbook is not None and result.workbook.exists() and result.exported == 2

    again = pull(county.store, county.api, county.out, now=_now(county))
    assert (again.received, again.acknowledged, again.workbook) == (0, 0, None)
    assert county.store.count() == 2


def test_a_store_that_cannot_save_acknowledges_nothing(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = example("notification.birth"), example("notification.pregnancy")
    county.send(first)
    county.send(second)

    def broken(*_args: Any, **_kwargs: Any) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(county.store, "save", broken)
    with pytest.raises(LocalStoreFailed) as caught:
        pull(county.store, county.api, county.out, now=_now(county))
    assert caught.value.message_id == first["message_id"]
    # Nothing acknowledged: both still wait in the gateway inbox, unacknowledged.
    assert county.gateway_inbox() == [first["message_id"], second["message_id"]]
    assert county.status(first["message_id"])["timestamps"]["acknowledged_at"] is None
    monkeypatch.undo()
    assert county.store.count() == 0

    result = pull(county.store, county.api, county.out, now=_now(county))
    assert (result.received, result.acknowledged) == (2, 2)
    assert county.gateway_inbox() == []


def test_a_crash_between_save_and_ack_is_repaired_without_a_duplicate(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    msg = example("notification.birth")
    county.send(msg)

    class Crash(BaseException):
        """The process dies right after the local commit."""

    def crash(_message_id: str) -> dict[str, Any]:
        raise Crash

    monkeypatch.setattr(county.api, "ack", crash)
    with pytest.raises(Crash):
        pull(county.store, county.api, county.out, now=_now(county))
    monkeypatch.undo()
    assert county.store.count() == 1  # committed before the ack was attempted
    assert county.gateway_inbox() == [msg["message_id"]]

    # The restarted client: a fresh connection to the same file.
    county.store.close()
    with ClientStore(county.store.path) as store:
        result = pull(store, county.api, county.out, now=_now(county))
        assert (result.received, result.already_held, result.acknowledged) == (0, 1, 1)
        assert store.count() == 1
        assert result.exported == 1  # the crash came before the workbook: written now
    county.store = ClientStore(county.store.path)
    assert county.gateway_inbox() == []


def test_a_pushed_message_seen_in_the_inbox_is_acknowledged_and_gets_its_deadline(
    county: County,
) -> None:
    msg = example("notification.birth")
    county.send(msg)
    assert county.store.save(
        message_id=msg["message_id"],
        type="notification",
        envelope=msg,
        received_via="push",
        received_at=_now(county),
    )
    result = pull(county.store, county.api, county.out, now=_now(county))
    assert (result.received, result.already_held, result.acknowledged) == (0, 1, 1)
    stored = county.store.get(msg["message_id"])
    assert stored is not None and stored.received_via == "push"
    assert stored.due_at is not None and stored.seq is not None
    assert county.gateway_inbox() == []


def test_pull_pages_through_a_long_inbox(county: County) -> None:
    ids = [county.send(example("notification.birth"))["message_id"] for _ in range(7)]
    result = pull(county.store, county.api, county.out, now=_now(county), page_size=3)
    assert result.received == 7 and county.store.count() == 7
    assert [m.message_id for m in county.store.unexported()] == []
    assert set(ids) == {m for m in ids if county.store.get(m) is not None}


def test_the_token_decides_whose_inbox(county: County) -> None:
    county.send(example("notification.birth"))
    other = GatewayApi(county.gw.url, county.gw.token("110101"))  # another county
    try:
        result = pull(county.store, other, county.out, now=_now(county))
    finally:
        other.close()
    assert result.received == 0
    assert len(county.gateway_inbox()) == 1
