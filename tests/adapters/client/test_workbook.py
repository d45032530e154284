"""The clerks' workbook: sheets per kind, Chinese headers and labels, deadlines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from adapters.client.service import pull
from adapters.client.store import StoredMessage
from adapters.client.workbook import (
    correction_path,
    parse_code,
    request_headers,
    write_inbox_workbook,
)
from tests.adapters.client.conftest import County
from tests.api.conftest import SHANGHAI, example


def _rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    wb = load_workbook(path)
    ws = wb[sheet]
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def test_one_sheet_per_kind_with_chinese_headers_labels_and_deadlines(county: County) -> None:
    notification = example("notification.birth")
    assist = example("assist_request")
    query_in = example("query", sender="441900", sender_unit="441900003", recipient="430582")
    county.send(notification)
    county.send(assist)
    county.send(query_in)
    query_out = example("query")  # the county asks the residence, which answers
    county.send(query_out, county.origin)
    county.send(example("query_reply", in_reply_to=query_out["message_id"]))

    result = pull(county.store, county.api, county.out, now=county.gw.time.now())
    assert result.workbook is not None and result.exported == 4
    wb = load_workbook(result.workbook)
    assert wb.sheetnames == ["通报", "查询", "协查", "反馈与答复"]
    for sheet in ("通报", "查询", "协查"):
        header = [c.value for c in wb[sheet][1]]
        assert header == request_headers(sheet)
    assert [c.value for c in wb["通报"][1]][-6:] == [
        "反馈结果",
        "已核查部门",
        "迁入地区划代码",
        "更正字段",
        "户籍地记录值",
        "说明/备注",
    ]
    # the outcome column offers the catalogue's Chinese labels
    validations = wb["通报"].data_validations.dataValidation
    assert len(validations) == 1
    assert "查无此人" in str(validations[0].formula1)
    assert "户籍已迁移" in str(validations[0].formula1)

    [row] = _rows(result.workbook, "通报")
    assert row["报文编号"] == notification["message_id"]
    assert row["发送地"] == "441900 广东省东莞市"
    assert row["应反馈期限"] == "2026-11-30"
    assert row["接收时间"] == "2026-11-23 10:00"
    assert row["性别"] == "女"
    assert row["公民身份号码"] == notification["subject"]["id_number"]  # text, not a number
    assert row["户籍地区划代码"] == "430582001201"
    assert row["通报事项"] == "生育"
    assert row["事件日期"] == "2026-11-12"
    details = row["详情"]
    assert "子女出生日期: 2026-11-12" in details
    assert "子女性别: 男" in details
    assert "孩次: 2" in details
    assert "是否已办理生育登记: 是" in details
    assert row["反馈结果"] is None  # for the clerk to fill

    [q] = _rows(result.workbook, "查询")
    assert q["查询类别"].startswith("生育信息查询")
    assert q["查询事项"].startswith("生育子女情况；避孕节育情况；")
    assert q["应反馈期限"] == "2026-11-30"  # fertility query: 5 working days
    [a] = _rows(result.workbook, "协查")
    assert a["协查事项"] == "督促办理证件" and a["紧急程度"] == "一般"
    assert a["应反馈期限"] == "2026-12-07"  # assist request: 10 working days
    [r] = _rows(result.workbook, "反馈与答复")
    assert r["类型"] == "查询答复" and r["所答复报文编号"] == query_out["message_id"]
    assert r["结果"] == "已答复"


def _stored(**changes: Any) -> StoredMessage:
    doc = example("notification.pregnancy")
    fields: dict[str, Any] = {
        "message_id": doc["message_id"],
        "type": "notification",
        "seq": 1,
        "sender": "441900",
        "recipient": "430582",
        "in_reply_to": None,
        "forwarded_from": None,
        "available_at": datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI),
        "due_at": datetime(2027, 1, 11, 23, 59, 59, tzinfo=SHANGHAI),
        "due_provisional": True,
        "envelope": doc,
        "received_at": datetime(2027, 1, 4, 9, 5, tzinfo=SHANGHAI),
        "received_via": "pull",
        "acked_at": None,
        "exported_at": None,
        "answer_message_id": None,
        "answered_at": None,
        "answer_state": None,
    }
    fields.update(changes)
    return StoredMessage(**fields)


def test_a_provisional_deadline_is_marked(tmp_path: Path) -> None:
    path = tmp_path / "wb.xlsx"
    counts = write_inbox_workbook(path, [_stored(), _stored(due_provisional=False)])
    assert counts == {"通报": 2}
    rows = _rows(path, "通报")
    assert [r["应反馈期限"] for r in rows] == ["2027-01-11（暂定）", "2027-01-11"]
    assert rows[0]["通报事项"] == "怀孕"
    assert not list(tmp_path.glob(".*partial"))  # written atomically


def test_reading_accepts_labels_codes_and_field_paths() -> None:
    assert parse_code("feedback_outcome", "查无此人") == "not_found"
    assert parse_code("feedback_outcome", " not_found ") == "not_found"
    assert parse_code("feedback_outcome", "没查到") is None
    assert correction_path("婚姻状况", "birth") == "subject.marital_status"
    assert correction_path("孩次", "birth") == "body.details.birth_order"
    assert correction_path("subject.sex", None) == "subject.sex"
    assert correction_path("孩次", "pregnancy") is None
