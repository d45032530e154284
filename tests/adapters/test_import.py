"""`gateway import` and the records endpoint against a real running gateway, on every stack:
valid rows go through, bad rows do not, nothing is sent twice, an interrupted import resumes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.client.api import GatewayApi, RetryPolicy
from adapters.importer import ImportAborted, run_import
from adapters.ledger import Ledger
from adapters.profiles import load_profile
from adapters.samples import sample_rows, write_csv
from gateway.cli.imports import ApiSubmitter
from tests.api.conftest import Harness, running_gateway
from tests.conftest import STACKS
from tests.standard import REGISTRY

GOLDEN = Path(__file__).parent / "golden"
RESIDENCE, ORIGIN = "441900", "430582"


@pytest.fixture(params=STACKS)
def gw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with running_gateway(request.param, tmp_path) as harness:
        harness.origin_token = harness.token(ORIGIN)  # type: ignore[attr-defined]
        yield harness


def _import(gw: Harness, source: Path, token: str, ledger: Path, sender: str = RESIDENCE) -> Any:
    with GatewayApi(gw.url, token) as api, Ledger(ledger) as book:
        return run_import(
            source,
            load_profile("floating_women"),
            sender=sender,
            registry=REGISTRY,
            submitter=ApiSubmitter(api),
            report_path=source.with_suffix(".report.csv"),
            ledger=book,
        )


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_valid_rows_go_through_and_a_second_import_sends_nothing(
    gw: Harness, tmp_path: Path
) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes((GOLDEN / "export.gb18030.csv").read_bytes())
    token = gw.token(RESIDENCE)
    first = _import(gw, source, token, tmp_path / "ledger.sqlite")
    assert (first.converted, first.accepted, first.rejected, first.refused) == (10, 10, 17, 0)
    assert first.states == {"routed": 10}
    assert gw.count_messages() == 10
    inbox = (
        gw.client(gw.origin_token)
        .get(  # type: ignore[attr-defined]
            "/api/v1/inbox", params={"limit": 100}
        )
        .json()["messages"]
    )
    assert len(inbox) == 10 and {m["due_at"] is not None for m in inbox} == {True}

    again = _import(gw, source, token, tmp_path / "ledger.sqlite")
    assert (again.accepted, again.already_sent, again.duplicates) == (0, 10, 0)
    # without the ledger the gateway's idempotency still stores nothing twice
    fresh = _import(gw, source, token, tmp_path / "other-ledger.sqlite")
    assert (fresh.accepted, fresh.duplicates) == (0, 10)
    assert gw.count_messages() == 10


def test_a_row_changed_after_it_was_sent_is_reported_not_overwritten(
    gw: Harness, tmp_path: Path
) -> None:
    rows = list(sample_rows(5))
    source = write_csv(tmp_path / "export.csv", rows)
    token = gw.token(RESIDENCE)
    assert _import(gw, source, token, tmp_path / "l1.sqlite").accepted == 5
    rows[2]["婚姻状况"] = "再婚" if rows[2]["婚姻状况"] != "再婚" else "初婚"
    write_csv(source, rows)
    summary = _import(gw, source, token, tmp_path / "l2.sqlite")
    assert (summary.duplicates, summary.refused) == (4, 1)
    [issue] = _report(source.with_suffix(".report.csv"))
    assert (issue["行号"], issue["规则"]) == ("4", "changed_since_sent")
    assert gw.count_messages() == 5


def test_a_sender_code_that_is_not_yours_is_refused_row_by_row(gw: Harness, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "export.csv", list(sample_rows(3)))
    summary = _import(gw, source, gw.token(RESIDENCE), tmp_path / "l.sqlite", sender="440305")
    assert (summary.accepted, summary.refused) == (0, 3)
    assert {r["规则"] for r in _report(source.with_suffix(".report.csv"))} == {"sender_not_yours"}
    assert gw.count_messages() == 0


def test_an_unreachable_gateway_stops_the_import_with_what_was_done(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "export.csv", list(sample_rows(3)))
    fast = RetryPolicy(attempts=2, base_s=0.01, cap_s=0.02)
    with (
        GatewayApi("http://127.0.0.1:9", "t", retry=fast) as api,
        pytest.raises(ImportAborted) as caught,
    ):
        run_import(
            source,
            load_profile("floating_women"),
            sender=RESIDENCE,
            registry=REGISTRY,
            submitter=ApiSubmitter(api),
            report_path=tmp_path / "r.csv",
        )
    assert caught.value.summary.accepted == 0 and caught.value.summary.converted == 3


@pytest.mark.timeout(240)
def test_an_interrupted_import_resumes_without_loss_or_repeats(gw: Harness, tmp_path: Path) -> None:
    """SIGKILL the import process while it is sending, then run it again."""
    total = 6000
    source = write_csv(tmp_path / "big.csv", sample_rows(total))
    ledger = tmp_path / "ledger.sqlite"
    env = {
        **os.environ,
        "GATEWAY_CLIENT_URL": gw.url,
        "GATEWAY_CLIENT_TOKEN": gw.token(RESIDENCE),
    }
    args = [sys.executable, "-m", "gateway.cli.main", "import", str(source)]
    args += ["--profile", "floating_women", "--sender", RESIDENCE, "--ledger", str(ledger)]
    log = tmp_path / "first-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if ledger.exists():
                with Ledger(ledger) as book:
                    if book.count() >= 500:
                        break
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with Ledger(ledger) as book:
        done_before = book.count()
    assert 0 < done_before < total, "the kill must land mid-import"

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert gw.count_messages() == total
    with Ledger(ledger) as book:
        assert book.count() == total
    assert f"already_sent={done_before}" in rerun.stdout.replace("\n", " ")
    assert "refused=0" in rerun.stdout


def test_records_endpoint_converts_with_the_profile(gw: Harness) -> None:
    rows = list(sample_rows(3))
    rows[1]["公民身份号码"] = "430582199001011234"
    client = gw.node(RESIDENCE)
    answer = client.post("/api/v1/adapters/floating_women/records", json={"records": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    good, bad = body["results"][0], body["results"][1]
    assert (
        good["status"] == 202 and good["state"] == "routed" and good["recipient"].startswith(ORIGIN)
    )
    assert bad["status"] == 422
    [error] = bad["problem"]["errors"]
    assert error == {
        "field": "records.1.subject.id_number",
        "column": "公民身份号码",
        "rule": "id_checksum",
        "message": error["message"],
    }
    assert "430582199001011234" not in answer.text  # no submitted value is echoed
    assert rows[0]["姓名"] not in answer.text
    again = client.post("/api/v1/adapters/floating_women/records", json={"records": rows})
    assert [r.get("duplicate") for r in again.json()["results"]] == [True, None, True]
    assert gw.count_messages() == 2


def test_records_endpoint_problems(gw: Harness) -> None:
    client = gw.node(RESIDENCE)
    unknown = client.post("/api/v1/adapters/nope/records", json={"records": []})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["errors"][0] == {
        "field": "profile",
        "rule": "unknown_profile",
        "message": "see docs/adapters.md / 见文档",
    }
    missing = client.post(
        "/api/v1/adapters/floating_women/records", json={"records": [{"姓名": "某"}]}
    )
    assert missing.status_code == 422
    assert {e["rule"] for e in missing.json()["errors"]} == {"column_missing"}
    empty = client.post("/api/v1/adapters/floating_women/records", json={"records": []})
    assert empty.status_code == 200 and empty.json() == {
        "accepted": 0,
        "rejected": 0,
        "results": [],
    }
    assert empty.headers["content-type"] == "application/json"
    shape = client.post("/api/v1/adapters/floating_women/records", json={"rows": []})
    assert shape.status_code == 422 and shape.json()["errors"][0]["field"] == "records"
    nested = client.post(
        "/api/v1/adapters/floating_women/records", json={"records": [{"姓名": {"a": 1}}]}
    )
    assert nested.status_code == 422
    anonymous = httpx.post(f"{gw.url}/api/v1/adapters/floating_women/records", json={})
    assert anonymous.status_code == 401


@pytest.mark.parametrize("name", ["probe.toml", "probe", "Probe", "a" * 65, "floating_women.toml"])
def test_records_endpoint_never_reads_a_profile_named_by_a_path(
    gw: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A profile name from the URL is an identifier from the known list: a TOML file in the
    server's working directory (here a working copy named probe) is never read."""
    packaged = Path(__file__).resolve().parents[2] / "adapters" / "profiles" / "floating_women.toml"
    text = packaged.read_text(encoding="utf-8").replace(
        'name = "floating_women"', 'name = "probe"', 1
    )
    assert 'name = "probe"' in text
    (tmp_path / "probe.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    client = gw.node(RESIDENCE)
    rows = list(sample_rows(1))
    answer = client.post(f"/api/v1/adapters/{name}/records", json={"records": rows})
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "profile"
    assert gw.count_messages() == 0


def test_progress_counts_every_row_once(gw: Harness, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes((GOLDEN / "export.utf8.csv").read_bytes())
    seen: list[int] = []
    with GatewayApi(gw.url, gw.token(RESIDENCE)) as api:
        summary = run_import(
            source,
            load_profile("floating_women"),
            sender=RESIDENCE,
            registry=REGISTRY,
            submitter=ApiSubmitter(api),
            report_path=tmp_path / "r.csv",
            batch_size=4,
            on_progress=seen.append,
        )
    assert sum(seen) == summary.rows == 27
    assert summary.accepted == 10


def test_cli_dry_run_reports_beside_the_input_and_sends_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.cli.main import app

    source = tmp_path / "export.csv"
    source.write_bytes((GOLDEN / "export.gb18030.csv").read_bytes())
    args = ["import", str(source), "--profile", "floating_women", "--sender", RESIDENCE]
    run = CliRunner().invoke(app, [*args, "--dry-run", "--report", "csv"])
    assert run.exit_code == 1, run.output  # some rows have problems
    assert "rows=27 converted=10 rejected=17" in run.output.replace("\n", " ")
    report = _report(tmp_path / "export.错误报告.csv")
    assert len(report) == 18 and report[0]["列名"] == "公民身份号码"
    assert not (tmp_path / "导入记录.sqlite").exists()  # a dry run keeps no ledger


def test_cli_refuses_a_file_without_the_required_columns(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.cli.main import app

    source = tmp_path / "export.csv"
    source.write_text("序号,身份证号码,备注\n1,430582199005010025,x\n", encoding="utf-8")
    run = CliRunner().invoke(
        app, ["import", str(source), "--profile", "floating_women", "--sender", RESIDENCE,
              "--dry-run"],
    )  # fmt: skip
    assert run.exit_code == 2, run.output
    assert "姓名" in run.output and "户籍地址" in run.output
    assert "430582199005010025" not in run.output


def test_the_ledger_keeps_each_rows_receipt_and_it_verifies(gw: Harness, tmp_path: Path) -> None:
    """The office's evidence: every accepted row's receipt, checked against the JWKS with the
    content digest of the row as sent; a receipt edited in the ledger fails."""
    from adapters.client.service import verify_receipts

    source = tmp_path / "export.csv"
    source.write_bytes((GOLDEN / "export.gb18030.csv").read_bytes())
    token = gw.token(RESIDENCE)
    _import(gw, source, token, tmp_path / "ledger.sqlite")
    with GatewayApi(gw.url, token) as api, Ledger(tmp_path / "ledger.sqlite") as book:
        assert len(book.receipts()) == 10
        checked = verify_receipts(None, api, book)
        assert (checked.verified, checked.missing) == (10, []), checked.invalid
        mid, _sha, receipt = book.receipts()[0]
        assert receipt is not None
        head, payload, _signature = receipt.split(".")
        book._db.execute(  # a signature from another receipt: the check names this row
            "UPDATE sent SET receipt = ? WHERE message_id = ?",
            (f"{head}.{payload}.{book.receipts()[1][2].split('.')[2]}", mid),  # type: ignore[union-attr]
        )
        book._db.commit()
        checked = verify_receipts(None, api, book)
        assert checked.verified == 9 and [c.message_id for c in checked.invalid] == [mid]
