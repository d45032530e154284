"""Citizen identity numbers (公民身份号码), GB 11643-1999.

18 characters: 6-digit issuing-county code, 8-digit birth date, 3-digit sequence (odd for
men, even for women) and an ISO 7064 MOD 11-2 check character (0-9 or X). Numbers issued
before 1999 had 15 digits (2-digit year, no check character); they are upgraded by inserting
"19" and computing the check character. Nothing here ever puts the number in a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul

from message_schemas.errors import ExchangeError, FieldError

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ASCII_ZERO_BIAS = 48 * sum(_WEIGHTS)  # sum(w * ord(c)) - bias == sum(w * int(c))
_CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11


class IdNumberError(ExchangeError, ValueError):
    """A rule of GB 11643 is broken. ``rule`` is stable; the text never holds the number."""

    kind = "invalid"
    title = "ID number invalid / 身份证号码不合格"
    slug = "message-invalid"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message, errors=[FieldError("id_number", rule, message)])
        self.rule = rule
        self.message = message


@dataclass(frozen=True, slots=True)
class IdNumber:
    number: str  # normalised 18-character form
    birth_date: date
    sex: str  # "male" | "female"

    @property
    def county_prefix(self) -> str:
        return self.number[:6]


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for 17 digits."""
    # map(mul) over the ASCII codes runs in C: this is on the hot path of every message.
    total = sum(map(mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_ZERO_BIAS
    return _CHECK_CHARS[total % 11]


def upgrade_15(number15: str) -> str:
    """Upgrade a legacy 15-digit number: insert century 19, append the check character."""
    if len(number15) != 15 or not (number15.isascii() and number15.isdigit()):
        raise IdNumberError(
            "id_format", "a 15-digit number must be 15 digits / 15位号码必须全为数字"
        )
    body = number15[:6] + "19" + number15[6:]
    return body + check_char(body)


def parse_id_number(raw: str) -> IdNumber:
    """Normalise and check an ID number; raise IdNumberError naming the broken rule."""
    text = raw.strip().upper()
    if len(text) == 15:
        text = upgrade_15(text)
    head = text[:17]
    if len(text) != 18 or not (head.isascii() and head.isdigit()) or text[17] not in _CHECK_CHARS:
        raise IdNumberError(
            "id_format",
            "must be 18 characters (17 digits + digit or X) or 15 digits "
            "/ 须为18位（17位数字加数字或X）或15位数字",
        )
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise IdNumberError(
            "id_birth_date", "birth date part is not a real date / 出生日期码不是有效日期"
        ) from None
    if born.year < 1900:
        raise IdNumberError("id_birth_date", "birth year before 1900 / 出生年份早于1900年")
    if check_char(text[:17]) != text[17]:
        raise IdNumberError("id_checksum", "check character is wrong / 校验码错误")
    sex = "male" if int(text[16]) % 2 else "female"
    return IdNumber(number=text, birth_date=born, sex=sex)


def sex_of(number18: str) -> str:
    """Sex encoded in an already-validated 18-character number."""
    return "male" if int(number18[16]) % 2 else "female"


def birth_date_of(number18: str) -> date:
    """Birth date encoded in an already-validated 18-character number."""
    return date(int(number18[6:10]), int(number18[10:12]), int(number18[12:14]))
