"""Dates and timestamps the standard accepts (docs/message-schemas.md, "Dates"): every date in
1900-01-01 … 2099-12-31, a notification's event date from 2000-01-01, `created_at` written in
2000 … 2099 with an offset within ±14:00. Out-of-range values are refused with a rule name and
never crash validation (converting year 1 or 9999 across time zones overflows)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from message_schemas import InvalidMessage
from message_schemas.export import build_schemas
from tests.message_schemas.conftest import load_example
from tests.standard import message_errors, validate_message
from tests.synthetic import make_id


def put(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted path (list items by index, missing objects created) and return doc."""
    *parents, leaf = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return doc


def rules_of(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in message_errors(json.dumps(doc, ensure_ascii=False))}


# --- created_at -----------------------------------------------------------------------------

OVERFLOWING = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")


@pytest.mark.parametrize("created_at", OVERFLOWING)
@pytest.mark.parametrize("name", ["notification.birth", "query", "feedback"])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "python"])
def test_overflowing_created_at_is_an_invalid_message(
    created_at: str, name: str, as_json: bool
) -> None:
    doc = put(load_example(name), "created_at", created_at)
    with pytest.raises(InvalidMessage) as caught:
        validate_message(json.dumps(doc) if as_json else doc)
    assert [(e.field, e.rule) for e in caught.value.errors] == [("created_at", "datetime_range")]


@pytest.mark.parametrize(
    ("created_at", "rule"),
    [
        ("1999-12-31T23:59:59+08:00", "datetime_range"),
        ("2100-01-01T00:00:00+08:00", "datetime_range"),
        ("1999-12-31T23:00:00-12:00", "datetime_range"),  # 2000 in UTC, 1999 as written
        ("2026-11-23T11:00:00+14:01", "utc_offset_range"),
        ("2026-11-23T11:00:00-14:01", "utc_offset_range"),
        ("2026-11-23T11:00:00+23:59", "utc_offset_range"),
    ],
)
def test_created_at_out_of_range_is_refused(created_at: str, rule: str) -> None:
    doc = put(load_example("query"), "created_at", created_at)
    assert rules_of(doc) == {("created_at", rule)}


@pytest.mark.parametrize(
    "created_at",
    [
        "2000-01-01T00:00:00+14:00",  # the first moment written in range (UTC: 1999-12-31)
        "2099-12-31T23:59:59-14:00",  # the last one (UTC: 2100-01-01)
        "2026-11-23T11:00:00+14:00",
        "2026-11-23T11:00:00-12:00",
        "2026-11-23T11:00:00Z",
    ],
)
def test_created_at_edges_are_accepted_and_convert_safely(created_at: str) -> None:
    doc = put(load_example("query"), "created_at", created_at)
    msg = validate_message(json.dumps(doc))
    msg.created_at.astimezone(UTC)  # once validated, any conversion is safe
    put(doc, "created_at", created_at[:19] + "+14:01")
    assert rules_of(doc) == {("created_at", "utc_offset_range")}


@given(
    moment=st.datetimes(),
    offset_minutes=st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
@example(moment=datetime(1, 1, 1), offset_minutes=14 * 60)
@example(moment=datetime(9999, 12, 31, 23, 59, 59), offset_minutes=-12 * 60)
def test_any_created_at_validates_or_is_refused_never_crashes(
    moment: datetime, offset_minutes: int
) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    doc = put(load_example("notification.other"), "created_at", text)
    in_range = 2000 <= moment.year <= 2099 and abs(offset_minutes) <= 14 * 60
    # message_errors catches InvalidMessage only: any other exception fails the test.
    errors = message_errors(json.dumps(doc))
    if not in_range:
        assert {e.field for e in errors} == {"created_at"}, errors
    else:
        assert "created_at" not in {e.field for e in errors}


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("notification.other", "body.event_date", "1900-01-01"),
        ("notification.other", "body.event_date", "1999-12-31"),
        ("notification.other", "body.event_date", "2100-01-01"),
        ("notification.pregnancy", "body.details.expected_delivery_date", "2100-01-01"),
        ("notification.pregnancy_check", "body.details.next_due", "2100-01-01"),
        ("assist_request", "subject.birth_date", "1899-12-31"),
        ("assist_request", "subject.birth_date", "2100-01-01"),
        ("assist_request", "subject.birth_date", "0001-01-01"),
    ],
)
def test_date_out_of_range_is_refused(name: str, path: str, value: str) -> None:
    doc = put(load_example(name), path, value)
    errors = message_errors(json.dumps(doc))
    assert (path, "date_range") in {(e.field, e.rule) for e in errors}, errors
    assert all(value not in e.message for e in errors)


def test_event_date_1900_is_refused_with_its_own_message() -> None:
    doc = load_example("notification.birth")
    put(doc, "body.event_date", "1900-01-01")
    put(doc, "body.details.child_birth_date", "1900-01-01")  # in range for a plain date
    errors = message_errors(json.dumps(doc))
    assert [(e.field, e.rule) for e in errors] == [("body.event_date", "date_range")]
    assert "2000-01-01" in errors[0].message


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("notification.other", "body.event_date", "2000-01-01"),
        ("assist_request", "subject.birth_date", "1900-01-01"),
    ],
)
def test_first_dates_in_range_are_accepted(name: str, path: str, value: str) -> None:
    doc = put(load_example(name), path, value)
    assert message_errors(json.dumps(doc)) == []
    put(doc, path, (date.fromisoformat(value) - timedelta(days=1)).isoformat())
    assert (path, "date_range") in rules_of(doc)


def test_date_bounds_are_in_the_json_schema() -> None:
    schemas = build_schemas()
    text = json.dumps(schemas["notification.schema.json"])
    assert '"formatMinimum": "2000-01-01"' in text  # body.event_date
    assert '"formatMinimum": "1900-01-01"' in text and '"formatMaximum": "2099-12-31"' in text
    created = schemas["query.schema.json"]["properties"]["created_at"]
    assert "14:00" in created["description"] and "2099" in created["description"]


# --- birth date not after the message -------------------------------------------------------


def test_birth_date_after_creation_is_refused() -> None:
    doc = load_example("assist_request")  # created 2026-11-23T14:00:00+08:00, no ID number
    assert not message_errors(doc)
    put(doc, "subject.birth_date", "2026-11-23")
    assert message_errors(doc) == []  # born that day: fine
    put(doc, "subject.birth_date", "2026-11-24")
    assert rules_of(doc) == {("subject.birth_date", "date_in_future")}


def test_birth_date_compared_with_the_creation_date_in_shanghai() -> None:
    doc = load_example("assist_request")
    put(doc, "created_at", "2026-11-23T20:00:00-08:00")  # 2026-11-24 12:00 in Shanghai
    put(doc, "subject.birth_date", "2026-11-24")
    assert message_errors(doc) == []
    put(doc, "subject.birth_date", "2026-11-25")
    assert rules_of(doc) == {("subject.birth_date", "date_in_future")}


@pytest.mark.parametrize("name", ["query", "feedback", "notification.other"])
def test_id_number_born_after_creation_is_refused(name: str) -> None:
    doc = load_example(name)
    subject = doc.setdefault("subject", {"name": "李试英"})
    subject.pop("birth_date", None)
    subject.pop("sex", None)
    subject["id_number"] = make_id("430582", date(2027, 1, 5), 4)
    assert ("subject.id_number", "date_in_future") in rules_of(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("body", "event_date"), 946684800),
        (("body", "event_date"), 0),
        (("created_at",), 1700000000),
        (("created_at",), 1.5e9),
    ],
)
def test_a_number_is_never_read_as_a_date(path: tuple[str, ...], value: float) -> None:
    """Lax parsing would take a number as a Unix timestamp; the standard's dates are text."""
    doc = load_example("notification.pregnancy")
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    for data in (json.dumps(doc), doc):
        with pytest.raises(InvalidMessage) as caught:
            validate_message(data)
        assert (".".join(path), "date_type") in [(e.field, e.rule) for e in caught.value.errors]
