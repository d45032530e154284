"""The submission pipeline without a server (decide → record → after commit), on each stack:
the same unit of work the API runs, called directly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db.migrate import upgrade
from gateway.messages.pipeline import DirectRecorder, Submissions
from gateway.nodes.registration import register_node
from gateway.nodes.service import Principal
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.time_source import ManualTime
from tests.api.conftest import START, example
from tests.conftest import STACKS, stack_urls


@pytest.fixture(params=STACKS)
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    with stack_urls(request.param, tmp_path) as (database_url, _redis_url):
        rt = Runtime.create(
            Settings(data_dir=tmp_path / "data", database_url=database_url),
            time=ManualTime(START),
        )
        upgrade(rt.engine)
        with rt.writing() as session:
            for code, endpoint in (("441900", None), ("430582", "https://county.example/in")):
                register_node(
                    session,
                    routing=rt.routing(),
                    reference=rt.reference(),
                    code=code,
                    name=code,
                    role="node",
                    endpoint=endpoint,
                    now=rt.time.now(),
                )
            session.commit()
        rt.invalidate_routing()
        try:
            yield rt
        finally:
            rt.close()


def test_decide_record_after_commit(runtime: Runtime) -> None:
    pushed: list[list[str]] = []
    submissions = Submissions(runtime, DirectRecorder(runtime, pushed.append))
    residence = Principal("441900", "东莞", "node")
    good, bad = (
        example("notification.birth"),
        example("notification.birth", sender="430582", sender_unit="430582001"),
    )
    items = [json.dumps(good).encode(), json.dumps(bad).encode()]
    first, refused = asyncio.run(submissions.submit(residence, items))
    assert first.accepted is not None and first.accepted.state == "routed"
    assert first.accepted.node == "430582"
    assert refused.error is not None and refused.error.status == 403  # not the caller's code
    assert pushed == [[good["message_id"]]]  # the after-commit hook got what has an endpoint
    [again] = asyncio.run(submissions.submit(residence, [items[0]]))
    assert again.accepted is not None and again.accepted.duplicate
    assert pushed == [[good["message_id"]]]  # a duplicate is not pushed twice


def test_a_reply_closes_its_request_through_the_same_pipeline(runtime: Runtime) -> None:
    submissions = Submissions(runtime, DirectRecorder(runtime))
    notification = example("notification.birth")
    asyncio.run(
        submissions.submit(Principal("441900", "东莞", "node"), [json.dumps(notification).encode()])
    )
    feedback = example("feedback", in_reply_to=notification["message_id"])
    [answer] = asyncio.run(
        submissions.submit(Principal("430582", "邵东", "node"), [json.dumps(feedback).encode()])
    )
    assert answer.accepted is not None, answer.error and answer.error.errors
    again = example("feedback", in_reply_to=notification["message_id"])
    [second] = asyncio.run(
        submissions.submit(Principal("430582", "邵东", "node"), [json.dumps(again).encode()])
    )
    assert second.error is not None and second.error.status == 409  # already answered
