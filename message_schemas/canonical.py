"""The canonical form of a message (PROTOCOL §8.7): RFC 8785 (JCS) JSON, whose SHA-256 a
signed receipt carries. The gateway and a county's client both compute it, from this module.

orjson with sorted keys writes exactly the JCS form for the documents the standard admits:
their keys are the models' ASCII field names (every model forbids extra keys), so sorting by
UTF-8 bytes equals JCS's UTF-16 order, and they hold no floats (integers are StrictInt), where
JCS's number form would differ. Strings are escaped alike (checked against the ``rfc8785``
package in tests/privacy/test_receipts.py).

The gateway stores a message without its null members (null and absent are one in the
standard); a document that may hold them goes through ``without_nulls`` first.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def canonical_json(document: bytes | dict[str, Any]) -> bytes:
    """The JCS form of a message (given as JSON bytes or as a parsed document)."""
    doc = orjson.loads(document) if isinstance(document, bytes) else document
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def canonical_sha256(document: bytes | dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def without_nulls(value: Any) -> Any:
    """``value`` with every null member of every object left out."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
