"""Every rule of the standard, fed a violation: the error names the field path and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from tests.message_schemas.conftest import load_example
from tests.standard import message_errors
from tests.synthetic import make_id

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(msg: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = msg
        for key in parents:
            node = node[key]
        node[leaf] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(msg: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = msg
        for key in parents:
            node = node[key]
        del node[leaf]

    return mutate


CASES: list[tuple[str, str, Mutation, str, str]] = [
    # (example, case id, mutation, expected field, expected rule)
    ("notification.birth", "unknown top field", _set("extra", 1), "extra", "extra_forbidden"),
    (
        "notification.birth",
        "unknown detail",
        _set("body.details.weight", 3),
        "body.details.weight",
        "extra_forbidden",
    ),
    (
        "notification.birth",
        "bad checksum",
        _set("subject.id_number", "430582199306110047"),
        "subject.id_number",
        "id_checksum",
    ),
    (
        "notification.birth",
        "bad id format",
        _set("subject.id_number", "43058219930611004"),
        "subject.id_number",
        "id_format",
    ),
    (
        "notification.birth",
        "impossible birth date in id",
        _set("subject.id_number", make_id("430582", date(1993, 6, 11))[:10] + "1340" + "0046"),
        "subject.id_number",
        "id_birth_date",
    ),
    (
        "notification.birth",
        "id prefix never a county",
        _set("subject.id_number", make_id("999999", date(1993, 6, 11), 4)),
        "subject.id_number",
        "id_region",
    ),
    (
        "notification.birth",
        "sex disagrees with id",
        _set("subject.sex", "male"),
        "subject.sex",
        "sex_mismatch",
    ),
    (
        "notification.birth",
        "birth date disagrees with id",
        _set("subject.birth_date", "1993-06-12"),
        "subject.birth_date",
        "birth_date_mismatch",
    ),
    (
        "notification.birth",
        "notification lacks id",
        _drop("subject.id_number"),
        "subject.id_number",
        "missing",
    ),
    (
        "notification.birth",
        "notification lacks name",
        _drop("subject.name"),
        "subject.name",
        "missing",
    ),
    (
        "notification.birth",
        "name with digits",
        _set("subject.name", "李试英2"),
        "subject.name",
        "name_format",
    ),
    (
        "notification.birth",
        "notification lacks hukou code",
        _drop("subject.hukou_code"),
        "subject.hukou_code",
        "missing",
    ),
    (
        "notification.birth",
        "notification lacks hukou address",
        _drop("subject.hukou_address"),
        "subject.hukou_address",
        "missing",
    ),
    (
        "notification.birth",
        "hukou code only township",
        _set("subject.hukou_code", "430582001"),
        "subject.hukou_code",
        "division_level",
    ),
    (
        "notification.birth",
        "village part out of range",
        _set("subject.hukou_code", "430582001450"),
        "subject.hukou_code",
        "division_village_range",
    ),
    (
        "notification.birth",
        "unknown county",
        _set("recipient", "439999"),
        "recipient",
        "division_unknown",
    ),
    (
        "notification.birth",
        "malformed division",
        _set("sender", "44190"),
        "sender",
        "division_format",
    ),
    (
        "notification.birth",
        "sender unit outside sender",
        _set("sender_unit", "430582001"),
        "sender_unit",
        "sender_unit_outside",
    ),
    (
        "notification.birth",
        "naive created_at",
        _set("created_at", "2026-11-20T09:30:00"),
        "created_at",
        "timezone_aware",
    ),
    (
        "notification.birth",
        "bad message id",
        _set("message_id", "not-a-uuid"),
        "message_id",
        "uuid_parsing",
    ),
    (
        "notification.birth",
        "wrong schema version",
        _set("schema_version", "2.0"),
        "schema_version",
        "literal_error",
    ),
    ("notification.birth", "unknown type", _set("type", "telegram"), "type", "union_tag_invalid"),
    ("notification.birth", "missing type", _drop("type"), "type", "union_tag_not_found"),
    (
        "notification.birth",
        "unknown category",
        _set("body.category", "marriage"),
        "body.category",
        "union_tag_invalid",
    ),
    (
        "notification.birth",
        "unknown code",
        _set("body.details.child_sex", "boy"),
        "body.details.child_sex",
        "code_unknown",
    ),
    (
        "notification.birth",
        "string where int",
        _set("body.details.birth_order", "2"),
        "body.details.birth_order",
        "int_type",
    ),
    (
        "notification.birth",
        "birth order zero",
        _set("body.details.birth_order", 0),
        "body.details.birth_order",
        "greater_than_equal",
    ),
    (
        "notification.birth",
        "child birth date not event date",
        _set("body.details.child_birth_date", "2026-11-11"),
        "body.details.child_birth_date",
        "event_date_mismatch",
    ),
    (
        "notification.birth",
        "event after creation",
        _set("created_at", "2026-11-10T09:30:00+08:00"),
        "body.event_date",
        "event_after_created",
    ),
    (
        "notification.birth",
        "notification is no reply",
        _set("in_reply_to", "0193b7a2-6c1e-7c3a-9f1e-2b8c1d7e4a10"),
        "in_reply_to",
        "none_required",
    ),
    (
        "notification.birth",
        "unknown marital status",
        _set("subject.marital_status", "engaged"),
        "subject.marital_status",
        "code_unknown",
    ),
    (
        "notification.pregnancy",
        "due date before event",
        _set("body.details.expected_delivery_date", "2026-01-01"),
        "body.details.expected_delivery_date",
        "before_event_date",
    ),
    (
        "notification.pregnancy_check",
        "next check before event",
        _set("body.details.next_due", "2026-11-01"),
        "body.details.next_due",
        "before_event_date",
    ),
    (
        "notification.status_in_question",
        "empty aspects",
        _set("body.details.aspects", []),
        "body.details.aspects",
        "too_short",
    ),
    (
        "notification.other",
        "other needs free text",
        _drop("body.details.description"),
        "body.details.description",
        "missing",
    ),
    (
        "feedback.not_found",
        "not_found without sources",
        _drop("body.verified_sources"),
        "body.verified_sources",
        "not_found_requires_sources",
    ),
    (
        "feedback.not_found",
        "not_found with empty sources",
        _set("body.verified_sources", []),
        "body.verified_sources",
        "not_found_requires_sources",
    ),
    (
        "feedback.not_found",
        "unknown source",
        _set("body.verified_sources", ["neighbours"]),
        "body.verified_sources.0",
        "code_unknown",
    ),
    (
        "feedback.transferred",
        "transferred without target",
        _drop("body.transferred_to"),
        "body.transferred_to",
        "transferred_requires_target",
    ),
    (
        "feedback.transferred",
        "transferred to nowhere",
        _set("body.transferred_to", "439999"),
        "body.transferred_to",
        "division_unknown",
    ),
    (
        "feedback",
        "target without transfer",
        _set("body.transferred_to", "430503"),
        "body.transferred_to",
        "only_with_transferred",
    ),
    (
        "feedback.corrected",
        "corrected without corrections",
        _drop("body.corrections"),
        "body.corrections",
        "corrected_requires_corrections",
    ),
    ("feedback", "reply without in_reply_to", _drop("in_reply_to"), "in_reply_to", "missing"),
    (
        "feedback",
        "reply to itself",
        lambda m: m.__setitem__("in_reply_to", m["message_id"]),
        "in_reply_to",
        "reply_to_self",
    ),
    ("query", "query without subject", _drop("subject"), "subject", "missing"),
    (
        "query",
        "query subject unidentified",
        lambda m: [m["subject"].pop(k) for k in ("id_number", "birth_date", "sex")],
        "subject",
        "subject_unidentified",
    ),
    ("query", "unknown topic", _set("body.topic", "gossip"), "body.topic", "code_unknown"),
    ("query", "no questions", _set("body.questions", []), "body.questions", "too_short"),
    (
        "query_reply",
        "answered without answer",
        _drop("body.answer"),
        "body.answer",
        "answered_requires_answer",
    ),
    (
        "query_reply",
        "reply not_found without sources",
        _set("body.outcome", "not_found"),
        "body.verified_sources",
        "not_found_requires_sources",
    ),
    (
        "query_reply",
        "query reply without in_reply_to",
        _drop("in_reply_to"),
        "in_reply_to",
        "missing",
    ),
    (
        "assist_request",
        "unknown urgency",
        _set("body.urgency", "asap"),
        "body.urgency",
        "code_unknown",
    ),
    (
        "assist_request",
        "unknown action",
        _set("body.action", "arrest"),
        "body.action",
        "code_unknown",
    ),
    (
        "assist_reply",
        "assist not_found without sources",
        _set("body.outcome", "not_found"),
        "body.verified_sources",
        "not_found_requires_sources",
    ),
    (
        "assist_reply",
        "assist reply without in_reply_to",
        _drop("in_reply_to"),
        "in_reply_to",
        "missing",
    ),
]


@pytest.mark.parametrize(
    ("name", "mutate", "field", "rule"),
    [pytest.param(n, m, f, r, id=i) for n, i, m, f, r in CASES],
)
def test_violation_names_field_and_rule(name: str, mutate: Mutation, field: str, rule: str) -> None:
    msg = load_example(name)
    assert message_errors(json.dumps(msg)) == [], "the unmodified example must be valid"
    mutate(msg)
    errors = message_errors(json.dumps(msg, ensure_ascii=False))
    assert (field, rule) in {(e.field, e.rule) for e in errors}, errors


def test_malformed_json_is_reported_at_the_root() -> None:
    errors = message_errors(b'{"message_id": ')
    assert [(e.field, e.rule) for e in errors] == [("$", "json_invalid")]


def test_all_violations_are_reported_together() -> None:
    msg = load_example("notification.birth")
    msg["subject"]["sex"] = "male"
    msg["body"]["details"]["child_sex"] = "boy"
    msg["recipient"] = "44190"
    fields = {e.field for e in message_errors(json.dumps(msg))}
    assert {"subject.sex", "body.details.child_sex", "recipient"} <= fields


def test_error_messages_never_repeat_personal_data() -> None:
    msg = load_example("notification.birth")
    wrong_id = msg["subject"]["id_number"][:-1] + "1"
    msg["subject"]["id_number"] = wrong_id
    msg["subject"]["name"] = "李试英" * 20  # too long
    text = json.dumps([e.as_dict() for e in message_errors(json.dumps(msg))], ensure_ascii=False)
    assert "subject.id_number" in text and "subject.name" in text
    assert wrong_id not in text and "李试英" not in text


def test_legacy_fifteen_digit_number_is_accepted_and_upgraded() -> None:
    from tests.standard import validate_message

    msg = load_example("notification.birth")
    full = msg["subject"]["id_number"]
    msg["subject"]["id_number"] = full[:6] + full[8:17]
    parsed = validate_message(json.dumps(msg))
    assert parsed.subject is not None and parsed.subject.id_number == full
