"""Synthetic people for tests: made-up names, ID numbers with valid check characters.

No real person is meant; prefixes are real county codes so the reference checks pass.
"""

from __future__ import annotations

from datetime import date

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"


def make_id(prefix: str, born: date, seq: int = 2) -> str:
    """An 18-character ID; ``seq`` odd for a man, even for a woman (computed independently
    of message_schemas.idnumber so the two implementations check each other)."""
    body = f"{prefix}{born:%Y%m%d}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11]


FAKE_NAMES = ("李试英", "张样芳", "刘例红", "陈演丽", "王模兰", "赵测梅")
