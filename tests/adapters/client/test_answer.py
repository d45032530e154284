"""Answering from the clerks' filled workbook, against the real gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from adapters.client.service import answer, pull, reply_id
from adapters.client.workbook import RowProblem, column_for
from tests.adapters.client.conftest import ORIGIN, County, fill
from tests.api.conftest import example


def _report(path: Path) -> list[dict[str, Any]]:
    ws = load_workbook(path)["回执"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("工作表", "行号", "报文编号", "列", "问题", "规则")
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _pulled(county: County, *docs: dict[str, Any]) -> Path:
    for doc in docs:
        county.send(doc)
    result = pull(county.store, county.api, county.out, now=county.gw.time.now())
    assert result.workbook is not None
    return result.workbook


def test_filled_answers_reach_the_sender_on_time_and_are_sent_once(county: County) -> None:
    notification = example("notification.birth")
    assist = example("assist_request")
    query = example("query", sender="441900", sender_unit="441900003", recipient="430582")
    blank = example("notification.pregnancy")
    workbook = _pulled(county, notification, assist, query, blank)
    filled = fill(
        workbook,
        county.out / "已填写.xlsx",
        {
            notification["message_id"]: {
                "反馈结果": "户籍地信息与通报不符（已更正）",
                "更正字段": "婚姻状况",
                "户籍地记录值": "离婚",
                "说明/备注": "户籍地2025年登记离婚",
            },
            assist["message_id"]: {"协查结果": "已办结", "办理情况": "已督促当事人换发证明"},
            query["message_id"]: {
                "答复结果": "not_found",  # a wire code works as well as the label
                "已核查部门": "公安部门、civil_affairs",
            },
        },
    )
    before = county.gw.count_messages()

    result = answer(county.store, county.api, filled, now=county.gw.time.now())

    assert (result.sent, result.duplicates, result.already_sent) == (3, 0, 0)
    assert result.blank == 1 and result.problems == [] and result.report is None
    assert county.gw.count_messages() == before + 3
    for request in (notification, assist):
        status = county.status(request["message_id"])
        assert status["response"] == "answered_on_time", status
        # the reply speaks as the county of the request's recipient, even when the gateway
        # derived a village code from the request's hukou_code
        stored = county.store.get(request["message_id"])
        assert stored is not None and stored.recipient is not None
        assert stored.recipient.startswith(ORIGIN)
        assert status["answer_id"] == reply_id(ORIGIN, request["message_id"])
    # what the residence receives: wire codes, from the clerks' Chinese labels
    inbox = county.residence.get("/api/v1/inbox").json()["messages"]
    feedback = next(m["envelope"] for m in inbox if m["type"] == "feedback")
    assert feedback["sender"] == ORIGIN and feedback["recipient"] == "441900"
    assert feedback["created_at"].endswith("+08:00")
    assert feedback["body"] == {
        "outcome": "corrected",
        "corrections": [{"field": "subject.marital_status", "origin_value": "divorced"}],
        "remarks": "户籍地2025年登记离婚",
    }
    reply = next(m["envelope"] for m in inbox if m["type"] == "query_reply")
    assert reply["body"]["verified_sources"] == ["public_security", "civil_affairs"]

    again = answer(county.store, county.api, filled, now=county.gw.time.now())
    assert (again.sent, again.duplicates, again.already_sent) == (0, 0, 3)
    assert county.gw.count_messages() == before + 3


def test_a_crash_after_sending_resends_the_same_answer_as_a_duplicate(
    county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    notification = example("notification.birth")
    workbook = _pulled(county, notification)
    filled = fill(
        workbook, county.out / "f.xlsx", {notification["message_id"]: {"反馈结果": "已核实并记录"}}
    )

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise KeyboardInterrupt  # the power goes before the gateway's answer is recorded

    monkeypatch.setattr(county.store, "answer_result", crash)
    with pytest.raises(KeyboardInterrupt):
        answer(county.store, county.api, filled, now=county.gw.time.now())
    monkeypatch.undo()
    count = county.gw.count_messages()
    county.gw.time.advance(__import__("datetime").timedelta(hours=2))  # created_at would differ

    result = answer(county.store, county.api, filled, now=county.gw.time.now())
    assert (result.sent, result.duplicates, result.problems) == (0, 1, [])
    assert county.gw.count_messages() == count
    assert county.status(notification["message_id"])["response"] == "answered_on_time"


def test_rows_that_cannot_be_sent_are_reported_by_column(county: County) -> None:
    not_found = example("notification.birth")
    answered_elsewhere = example("notification.pregnancy")
    bad_label = example("notification.fp_surgery")
    no_correction_value = example("notification.other")
    good = example("assist_request")
    workbook = _pulled(county, not_found, answered_elsewhere, bad_label, no_correction_value, good)
    # Someone answered this one directly on the API before the clerks' file is sent.
    direct = county.origin.post(
        "/api/v1/messages", json=example("feedback", in_reply_to=answered_elsewhere["message_id"])
    )
    assert direct.status_code == 202, direct.text
    filled = fill(
        workbook,
        county.out / "答复.xlsx",
        {
            not_found["message_id"]: {"反馈结果": "查无此人"},  # without departments checked
            answered_elsewhere["message_id"]: {"反馈结果": "已核实并记录"},
            bad_label["message_id"]: {"反馈结果": "大概核实了"},
            no_correction_value["message_id"]: {"反馈结果": "corrected", "更正字段": "婚姻状况"},
            good["message_id"]: {"协查结果": "已办结", "办理情况": "已办理"},
        },
    )

    result = answer(county.store, county.api, filled, now=county.gw.time.now())

    assert result.sent == 1 and result.refused == 4
    assert result.report == county.out / "答复.回执.xlsx" and result.report.exists()
    by_id = {row["报文编号"]: row for row in _report(result.report)}
    assert set(by_id) == {
        not_found["message_id"],
        answered_elsewhere["message_id"],
        bad_label["message_id"],
        no_correction_value["message_id"],
    }
    assert by_id[not_found["message_id"]]["列"] == "已核查部门"
    assert by_id[not_found["message_id"]]["规则"] == "not_found_requires_sources"
    assert by_id[answered_elsewhere["message_id"]]["列"] == "报文编号"
    assert by_id[answered_elsewhere["message_id"]]["规则"] == "already_answered"
    assert by_id[bad_label["message_id"]]["列"] == "反馈结果"
    assert by_id[bad_label["message_id"]]["规则"] == "unknown_label"
    assert by_id[no_correction_value["message_id"]]["列"] == "户籍地记录值"
    assert all(row["工作表"] == "通报" and row["行号"] >= 2 for row in by_id.values())
    # no personal data in the receipt
    text = repr(_report(result.report))
    assert not_found["subject"]["name"] not in text
    assert not_found["subject"]["id_number"] not in text
    assert county.status(not_found["message_id"])["response"] == "awaiting"


def test_a_gateway_field_path_maps_back_to_the_workbook_column() -> None:
    from adapters.client.service import _item_problems
    from adapters.client.workbook import AnswerRow

    row = AnswerRow("通报", 5, "m-1", {"反馈结果": "查无此人"})
    item = {
        "index": 3,
        "status": 422,
        "problem": {
            "title": "Message does not conform",
            "errors": [
                {"field": "messages.3.body.verified_sources", "rule": "r1", "message": "m"},
                {
                    "field": "messages.3.body.corrections.0.origin_value",
                    "rule": "r2",
                    "message": "m",
                },
                {"field": "messages.3.body.transferred_to", "rule": "r3", "message": "m"},
                {"field": "messages.3.created_at", "rule": "r4", "message": "m"},
            ],
        },
    }
    assert [p.column for p in _item_problems(row, item)] == [
        "已核查部门",
        "户籍地记录值",
        "迁入地区划代码",
        "",
    ]
    assert column_for("查询", "body.answer") == "答复内容"
    assert column_for("协查", "body.result") == "办理情况"
    assert column_for("协查", "body.outcome") == "协查结果"
    assert isinstance(
        _item_problems(row, {"index": 0, "status": 409, "problem": {}})[0], RowProblem
    )
