"""Signed receipts (PROTOCOL §8.7), checked with PyJWT against the published JWKS: not the
gateway's own code."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jwt
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.privacy import keys as privacy_keys
from gateway.privacy.keyfile import new_key
from message_schemas.canonical import canonical_json
from tests.api.conftest import EXAMPLES, Harness, example


def _verify(receipt: str, jwks: dict[str, Any]) -> dict[str, Any]:
    kid = jwt.get_unverified_header(receipt)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = jwt.PyJWK.from_dict(jwk)
    payload: dict[str, Any] = jwt.decode(receipt, key=key, algorithms=["EdDSA"])
    return payload


def test_every_accepted_message_has_a_receipt_that_verifies(gw: Harness) -> None:
    residence = gw.node("441900")
    origin = gw.node("430582")
    msg = example("notification.pregnancy")
    first = residence.post("/api/v1/messages", json=msg).json()
    jwks = gw.client(None).get("/.well-known/jwks.json").json()
    assert {k["kty"] for k in jwks["keys"]} == {"OKP"}
    payload = _verify(first["receipt"], jwks)
    assert payload["message_id"] == msg["message_id"]
    assert payload["sender"] == "441900" and payload["recipient"] == "430582"
    assert payload["due_at"] == first["due_at"]
    # sha256 of the RFC 8785 form of the envelope as accepted (as the recipient gets it)
    delivered = origin.get("/api/v1/inbox").json()["messages"][0]["envelope"]
    assert payload["sha256"] == hashlib.sha256(rfc8785.dumps(delivered)).hexdigest()
    sent = {k: v for k, v in msg.items() if v is not None}  # absent and null are one
    assert delivered == sent
    assert jwt.get_unverified_header(first["receipt"])["alg"] == "EdDSA"
    # a duplicate gets the very same receipt
    again = residence.post("/api/v1/messages", json=msg).json()
    assert again["duplicate"] is True and again["receipt"] == first["receipt"]
    # batch items too
    batch = [example("notification.birth"), example("notification.pregnancy")]
    results = residence.post("/api/v1/messages/batch", json={"messages": batch}).json()["results"]
    for item, sent in zip(results, batch, strict=True):
        assert _verify(item["receipt"], jwks)["message_id"] == sent["message_id"]


def test_a_tampered_receipt_fails(gw: Harness) -> None:
    gw.token("441900")
    origin = gw.node("430582")
    receipt = origin.post("/api/v1/messages", json=example("query")).json()["receipt"]
    jwks = gw.client(None).get("/.well-known/jwks.json").json()
    header, payload, signature = receipt.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["accepted_at"] = "2026-11-01T09:00:00+08:00"  # "I sent it earlier"
    forged = ".".join(
        [header, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), signature]
    )
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(forged, jwks)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(".".join([header, payload, flipped]), jwks)


def test_receipts_signed_before_a_rotation_still_verify(gw: Harness) -> None:
    residence = gw.node("441900")
    gw.token("430582")
    old = residence.post("/api/v1/messages", json=example("notification.birth")).json()["receipt"]
    gw.runtime.receipts.keys.add(new_key(privacy_keys.RECEIPT_PREFIX), privacy_keys.RECEIPT_HEADER)
    new = residence.post("/api/v1/messages", json=example("notification.birth")).json()["receipt"]
    jwks = gw.client(None).get("/.well-known/jwks.json").json()
    assert len(jwks["keys"]) == 2
    kids = {jwt.get_unverified_header(r)["kid"] for r in (old, new)}
    assert len(kids) == 2
    for receipt in (old, new):
        _verify(receipt, jwks)


def test_the_canonical_form_is_rfc8785_for_every_example() -> None:
    for path in EXAMPLES.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert canonical_json(json.dumps(doc, ensure_ascii=False).encode()) == rfc8785.dumps(doc)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.one_of(st.text(), st.integers(-(2**53) + 1, 2**53 - 1), st.booleans(), st.none()),
        max_size=8,
    )
)
def test_the_canonical_form_is_rfc8785_for_any_text(doc: dict[str, Any]) -> None:
    """Any string content (control characters, U+2028, astral planes) under ASCII keys, as the
    standard's models allow."""
    assert canonical_json(json.dumps(doc).encode()) == rfc8785.dumps(doc)


def test_a_batch_signed_by_the_helper_and_after_it_died(gw: Harness) -> None:
    """A batch's receipts come from the signing helper process; kill it and the next batch's
    receipts are made in the gateway's process: every one still verifies."""
    import os
    import signal

    from gateway.privacy.signing import MIN_BATCH

    residence = gw.node("441900")
    gw.token("430582")
    pool = gw.runtime.receipts.pool
    if not pool.enabled:
        pytest.skip("one CPU: no helper process")
    jwks = gw.client(None).get("/.well-known/jwks.json").json()
    for round_ in range(2):
        batch = [example("notification.birth") for _ in range(MIN_BATCH + 8)]
        answer = residence.post("/api/v1/messages/batch", json={"messages": batch}).json()
        assert answer["accepted"] == len(batch), answer
        for item, sent in zip(answer["results"], batch, strict=True):
            payload = _verify(item["receipt"], jwks)
            assert payload["message_id"] == sent["message_id"]
        if round_ == 0:
            helper = pool._pool
            assert helper is not None  # the first batch started it
            for pid in list(helper._processes):  # type: ignore[attr-defined]
                os.kill(pid, signal.SIGKILL)
    # the duplicate of a batch item gets the receipt stored for it
    again = residence.post("/api/v1/messages", json=batch[0]).json()
    assert again["duplicate"] and again["receipt"] == answer["results"][0]["receipt"]
