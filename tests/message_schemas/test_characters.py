"""Characters the standard accepts in names and free text (docs/message-schemas.md,
"Characters"): no control, format (bidi overrides, zero-width characters, BOM), surrogate,
private-use or unassigned characters, no stacked combining marks in names; addresses are one
line. Legitimate names (Chinese, with a middle dot, Latin with diacritics) stay valid.

All people here are synthetic."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from message_schemas.v1 import types
from tests.message_schemas.conftest import load_example
from tests.message_schemas.test_dates import put
from tests.standard import message_errors

ZWSP = "\u200b"
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def errors_at(doc: dict[str, Any], path: str) -> set[str]:
    """Rules violated at path, checked from JSON text and from a decoded object alike."""
    from_json = message_errors(json.dumps(doc, ensure_ascii=False))
    from_object = message_errors(doc)
    rules = {e.rule for e in from_json if e.field == path}
    assert rules == {e.rule for e in from_object if e.field == path}
    return rules


def test_isprintable_is_exactly_the_forbidden_categories() -> None:
    """The fast path of the character checks rests on this (and on _SPACES being every Zs
    but U+0020): check it against this Python's Unicode database, code point by code point."""
    spaces = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs"}
    assert set(types._SPACES) == spaces - {" "}
    for cp in range(0x110000):
        ch = chr(cp)
        category = unicodedata.category(ch)
        forbidden = category in FORBIDDEN_CATEGORIES or (category == "Zs" and ch != " ")
        assert ch.isprintable() is not forbidden, hex(cp)


# --- names ----------------------------------------------------------------------------------

FORTY = "阿卜杜热合曼·阿卜杜克热木·买买提明·艾山江·吐尔逊·努尔买买提·艾则孜·热合曼"
assert len(FORTY) == 40

LEGITIMATE_NAMES = [
    "李试英",
    "买买提·艾力",  # U+00B7, the household register's middle dot
    "阿卜杜热合曼·阿卜杜克热木",
    "买买提・艾力",  # U+30FB
    "买买提‧艾力",  # U+2027
    FORTY,
    "阿" * types.NAME_MAX_LENGTH,  # the longest allowed
    "José",  # precomposed
    "Jose\u0301",  # decomposed: one combining mark
    "Nguyễn",
    "Nguye\u0302\u0303n",  # two combining marks on one letter
    "Mary Jane",
    "J. Smith",
    "Anne-Marie",
    "\U00030000试英",  # CJK Ext. G (plane 3)
    "\U00031350试英",  # CJK Ext. H (Unicode 15), reserved for ideographs in older databases
    "བསྒྲུབ",  # Tibetan: three marks stacked on one base
    "李试\ufe00英",  # a variation selector after an ideograph
]


@pytest.mark.parametrize("name", LEGITIMATE_NAMES, ids=lambda n: ascii(n)[1:40])
def test_legitimate_name_is_accepted_and_a_hidden_character_in_it_is_not(name: str) -> None:
    doc = load_example("notification.birth")
    assert errors_at(put(doc, "subject.name", name), "subject.name") == set()
    cut = max(1, len(name) // 2)
    hidden = (name[:cut] + ZWSP + name[cut:])[: types.NAME_MAX_LENGTH]
    assert errors_at(put(doc, "subject.name", hidden), "subject.name") == {"name_characters"}


BAD_NAMES = [
    ("李\x00试英", "name_characters"),  # NUL
    ("李\x07试英", "name_characters"),  # BEL
    ("李\t试英", "name_characters"),
    ("李\n试英", "name_characters"),
    ("李\x7f试英", "name_characters"),  # DEL
    ("李\x85试英", "name_characters"),  # C1 control
    *[(f"李{chr(cp)}试英", "name_characters") for cp in range(0x202A, 0x202F)],  # bidi
    *[(f"李{chr(cp)}试英", "name_characters") for cp in range(0x2066, 0x206A)],  # isolates
    *[(f"李{chr(cp)}试英", "name_characters") for cp in range(0x200B, 0x200E)],  # zero width
    ("\ufeff李试英", "name_characters"),  # BOM
    ("李\u00ad试英", "name_characters"),  # soft hyphen (Cf)
    ("李\U000e0041试英", "name_characters"),  # tag character
    ("李\ue000试英", "name_characters"),  # private use (a locally made-up character)
    ("李\U000f0000试英", "name_characters"),  # supplementary private use
    ("李\u0378试英", "name_characters"),  # unassigned
    ("李\ufffe试英", "name_characters"),  # noncharacter
    ("李\U0002fffe试英", "name_characters"),  # noncharacter in the ideograph plane
    ("李\U00050000试英", "name_characters"),  # unassigned plane 5
    ("李\u2028试英", "name_characters"),  # line separator
    ("李\u2029试英", "name_characters"),  # paragraph separator
    ("李\u3000试英", "name_characters"),  # ideographic space
    ("Mary\u00a0Jane", "name_characters"),  # no-break space
    ("Nguye\u0302\u0303\u0301n", "name_characters"),  # three stacked marks
    ("Z\u0335\u0321\u0327algo", "name_characters"),
    ("A\u20dd\u20dd\u20dd", "name_characters"),  # enclosing marks (Me)
    ("\u0301Jose", "name_characters"),  # a mark with no base
    ("བ\u0f92\u0fb2\u0f74\u0f7a\u0f7e", "name_characters"),  # five stacked Tibetan marks
    ("·艾力", "name_format"),
    ("艾力·", "name_format"),
    ("买买提··艾力", "name_format"),
    ("买买提．艾力", "name_format"),  # U+FF0E is a full stop, not a middle dot
    ("李试英２", "name_format"),  # a full-width digit
    ("·", "name_format"),
    ("- .", "name_format"),  # no letter at all
]


@pytest.mark.parametrize(("name", "rule"), BAD_NAMES, ids=[ascii(n) for n, _ in BAD_NAMES])
def test_bad_name_is_refused_with_its_rule_and_without_the_value(name: str, rule: str) -> None:
    doc = put(load_example("notification.birth"), "subject.name", name)
    assert errors_at(doc, "subject.name") == {rule}
    for error in message_errors(doc):
        assert "试英" not in error.message and "艾力" not in error.message


def _forbidden_by_oracle(name: str) -> bool:
    """An independent statement of the character rule (categories, not str.isprintable)."""
    run = 0
    for i, ch in enumerate(name):
        category = unicodedata.category(ch)
        cp = ord(ch)
        reserved_ideograph = category == "Cn" and 0x20000 <= cp <= 0x3FFFF and cp & 0xFFFF < 0xFFFE
        if category in FORBIDDEN_CATEGORIES and not reserved_ideograph:
            return True
        if category == "Zs" and ch != " ":
            return True
        if i == 0 and category.startswith("M"):
            return True
        run = run + 1 if category in ("Mn", "Me") else 0
        if run > 2 and not all("\u0f00" <= c <= "\u0fff" for c in name[i - run + 1 : i + 1]):
            return True
        if run > 4:
            return True
    return False


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(st.characters(exclude_categories=()), min_size=0, max_size=60))
@example(name="李\x00试英")
@example(name="李\ud800试英")  # a lone surrogate
@example(name="\U0002fffe")
def test_any_name_is_valid_or_an_invalid_message_never_a_crash(name: str) -> None:
    doc = put(load_example("notification.birth"), "subject.name", name)
    outcomes = []
    for data in (doc, json.dumps(doc), json.dumps(doc, ensure_ascii=False)):
        # message_errors catches InvalidMessage only: any other exception fails the test.
        errors = message_errors(data)
        assert all(e.field in ("subject.name", "$") for e in errors), errors
        outcomes.append(not errors)
    if _forbidden_by_oracle(name):
        assert not any(outcomes), ascii(name)


# --- free text ------------------------------------------------------------------------------

MULTI_LINE = [  # (example, path): free text that may span lines
    ("notification.birth", "body.remarks"),
    ("notification.birth", "body.details.birth_place"),  # a catalogue text field
    ("notification.other", "body.details.description"),
    ("feedback.corrected", "body.corrections.0.origin_value"),
    ("feedback.corrected", "body.corrections.0.note"),
    ("feedback", "body.remarks"),
    ("feedback", "body.origin_record.remarks"),
    ("query", "body.questions.2"),
    ("query", "body.remarks"),
    ("query_reply", "body.answer"),
    ("assist_request", "body.reason"),
    ("assist_request", "body.remarks"),
    ("assist_reply", "body.result"),
]
SINGLE_LINE = [
    ("notification.birth", "subject.hukou_address"),
    ("notification.birth", "subject.residence_address"),
    ("assist_request", "subject.hukou_address"),
]
FORBIDDEN_IN_TEXT = [
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u200b",
    "\u200d",
    "\ufeff",
    "\ue000",
    "\u0378",
    "\U000e0001",
    "\u2028",
    "\u2029",
]


@pytest.mark.parametrize(("name", "path"), MULTI_LINE)
def test_multi_line_text_takes_line_breaks_but_no_hidden_characters(name: str, path: str) -> None:
    doc = load_example(name)
    good = "第一行\r\n第二行\t附注\n　全角空格开头 and plain text"
    assert errors_at(put(doc, path, good), path) == set()
    for bad in FORBIDDEN_IN_TEXT:
        assert errors_at(put(doc, path, f"说明{bad}文字"), path) == {"text_characters"}, ascii(bad)


@pytest.mark.parametrize(("name", "path"), SINGLE_LINE)
def test_address_is_one_line_without_hidden_characters(name: str, path: str) -> None:
    doc = load_example(name)
    good = "湖南省邵阳市　示例村3组 No. 5"
    assert errors_at(put(doc, path, good), path) == set()
    for bad in [*FORBIDDEN_IN_TEXT, "\n", "\r", "\t"]:
        assert errors_at(put(doc, path, f"湖南省{bad}示例村"), path) == {"text_characters"}
