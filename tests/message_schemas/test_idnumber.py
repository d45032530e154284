from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from message_schemas.idnumber import IdNumberError, parse_id_number, upgrade_15
from tests.synthetic import make_id

PREFIXES = st.sampled_from(["430582", "441900", "110105", "430521", "650102"])
BIRTHS = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 1))
SEQS = st.integers(min_value=0, max_value=999)


@given(PREFIXES, BIRTHS, SEQS)
def test_valid_numbers_parse_to_their_date_and_sex(prefix: str, born: date, seq: int) -> None:
    parsed = parse_id_number(make_id(prefix, born, seq))
    assert parsed.birth_date == born
    assert parsed.sex == ("male" if seq % 2 else "female")
    assert parsed.county_prefix == prefix


@given(PREFIXES, BIRTHS, SEQS, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_caught(
    prefix: str, born: date, seq: int, pos: int, delta: int
) -> None:
    number = make_id(prefix, born, seq)
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(wrong)
    # changing a date digit may also make the date impossible; either way it is refused
    assert exc.value.rule in {"id_checksum", "id_birth_date"}


@given(PREFIXES, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), SEQS)
def test_fifteen_digit_numbers_upgrade(prefix: str, born: date, seq: int) -> None:
    legacy = f"{prefix}{born:%y%m%d}{seq:03d}"
    assert upgrade_15(legacy) == make_id(prefix, born, seq)
    assert parse_id_number(legacy).number == make_id(prefix, born, seq)


def test_lower_case_x_is_normalised() -> None:
    number = next(
        make_id("430582", date(1990, 1, d))
        for d in range(1, 32)
        if make_id("430582", date(1990, 1, d)).endswith("X")
    )
    assert parse_id_number(number.lower()).number == number


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("43058219900501002", "id_format"),
        ("4305821990050100251", "id_format"),
        ("43058219900501002A", "id_format"),
        ("430582199013010025", "id_birth_date"),
        ("430582189005010025", "id_birth_date"),
        ("430582199005010026", "id_checksum"),
    ],
)
def test_broken_rules_are_named(raw: str, rule: str) -> None:
    with pytest.raises(IdNumberError) as exc:
        parse_id_number(raw)
    assert exc.value.rule == rule
    assert raw not in str(exc.value)
