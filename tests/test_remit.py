"""Returned funds handed back to the treasury (上缴): `subsidy remitted` records it once per bank answer,
`subsidy returned-funds` lists every answer's returned money as handed back (which voucher) or not."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from subsidy_batch.outputs.labels import BANK_REASONS_ZH
from subsidy_batch.returns.record import import_returns
from subsidy_batch.returns.synth import synth_returns
from subsidy_batch.rules.layouts import REASON_CODES
from subsidy_batch.runs.manifest import SHANGHAI
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT, cli, no_traceback, only_error

TODAY = datetime.now(SHANGHAI).date().isoformat()


@pytest.fixture
def april(tmp_path: Path) -> Path:
    """A copy of the stored Jiaxiang 2024-04 run: bank_01 pays 48 lines, 12,345.00; bank_02 64 lines,
    18,690.00; bank_04 51 lines, 9,515.00 (the control totals of its bank files)."""
    shutil.copytree(
        ROOT / "runs" / "jiaxiang", tmp_path / "runs" / "jiaxiang"
    )  # verify reads the runs before
    return tmp_path / "runs" / "jiaxiang" / "2024-04"


def _answer(run_dir: Path, index: int, fail_rate: float) -> None:
    """The bank's answer to the run's bank file `index`, with that share of its lines failed, imported."""
    written = synth_returns(run_dir, fail_rate, 3, run_dir.parents[2] / f"answers-{index}")[index]
    import_returns(run_dir, written.path, config_dir=CONFIG)


def _listed(tmp_path: Path, *extra: str):
    """subsidy returned-funds for the county's runs under tmp_path."""
    runs = str(tmp_path / "runs")
    return cli(
        "returned-funds", "--county", "jiaxiang", "--runs-dir", runs, "--config-dir", str(CONFIG), *extra
    )


def _funds(tmp_path: Path) -> dict:
    result = _listed(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _remit(run_dir: Path, voucher: str, on: str = TODAY, by: str = "王会计"):
    return cli("remitted", str(run_dir), "--voucher", voucher, "--on", on, "--by", by)


def test_returned_money_is_listed_as_still_to_hand_back_until_a_voucher_covers_it(
    april: Path, tmp_path: Path
) -> None:
    _answer(april, 0, 1.0)  # bank_01: every line failed, 12,345.00 comes back
    _answer(april, 1, 0.0)  # bank_02: every line paid, nothing comes back, so it is not listed
    funds = _funds(tmp_path)
    assert funds["totals"] == {
        "answers": 1,
        "returned": "12345.00",
        "remitted": "0.00",
        "not_remitted": "12345.00",
    }
    assert [(a["bank_name"], a["failed_lines"], a["voucher"]) for a in funds["answers"]] == [
        ("中国农业银行嘉祥县支行", 48, None)
    ]
    done = _remit(april, "缴2024-001")
    assert done.exit_code == 0, done.output
    assert (
        "12345.00 yuan of 48 failed line(s)" in done.stdout and "voucher 缴2024-001 (王会计)" in done.stdout
    )
    # then bank_04's answer arrives, every line failed: 12,345.00 + 9,515.00 = 21,860.00 came back, of
    # which the first voucher handed back 12,345.00
    _answer(april, 3, 1.0)
    funds = _funds(tmp_path)
    assert funds["totals"] == {
        "answers": 2,
        "returned": "21860.00",
        "remitted": "12345.00",
        "not_remitted": "9515.00",
    }
    # the second voucher covers only the answer not yet covered
    second = cli("remitted", str(april), "--voucher", "缴2024-002", "--on", TODAY, "--by", "李出纳", "--json")
    assert second.exit_code == 0, second.output
    records = json.loads(second.stdout)["records"]
    assert [(r["bank_name"], r["amount"], r["voucher"]) for r in records] == [
        ("嘉祥农村商业银行", "9515.00", "缴2024-002")
    ]
    funds = _funds(tmp_path)
    assert funds["totals"]["not_remitted"] == "0.00" and funds["totals"]["remitted"] == "21860.00"
    assert [(a["voucher"], a["remitted_on"], a["recorded_by"]) for a in funds["answers"]] == [
        ("缴2024-001", TODAY, "王会计"),
        ("缴2024-002", TODAY, "李出纳"),
    ]
    # a third time: nothing is left to hand back, and nothing is written
    only_error(
        _remit(april, "缴2024-003"),
        2,
        f"the money every bank answer to {records[0]['run_id']} returned is recorded as handed back already "
        "(voucher 缴2024-001, 缴2024-002); a record is written once (subsidy withdraw-remittance withdraws one "
        "made in error)",
    )
    assert len(list((tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.json"))) == 2
    # the records stand beside the run and change nothing in it: it still reproduces byte for byte
    assert verify_run(april).identical


def test_the_text_summary_names_each_answer_and_what_to_do(april: Path, tmp_path: Path) -> None:
    _answer(april, 0, 1.0)
    result = _listed(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "jiaxiang: 1 bank answer(s) returned 12345.00 yuan; handed back 0.00, still to hand back 12345.00"
    )
    assert (
        "中国农业银行嘉祥县支行  48 line(s)     12345.00 yuan  still to hand back (subsidy remitted"
        in result.stdout
    )


def test_a_county_with_no_answers_lists_nothing(april: Path, tmp_path: Path) -> None:
    assert _funds(tmp_path)["totals"] == {
        "answers": 0,
        "returned": "0.00",
        "remitted": "0.00",
        "not_remitted": "0.00",
    }


def test_a_county_not_configured_is_refused_not_listed_as_owing_nothing(tmp_path: Path) -> None:
    result = cli(
        "returned-funds", "--county", "nowhere", "--runs-dir", str(tmp_path), "--config-dir", str(CONFIG)
    )
    no_traceback(result)
    assert result.exit_code == 4 and result.stderr.startswith("error: no county 'nowhere' in ")


def test_a_run_whose_answers_failed_no_line_has_no_money_to_hand_back(april: Path, tmp_path: Path) -> None:
    _answer(april, 1, 0.0)
    result = _remit(april, "缴2024-001")
    no_traceback(result)
    assert result.exit_code == 2 and "failed a line, so no money came back from it" in result.stderr
    assert not (tmp_path / "runs" / "jiaxiang" / "remitted").exists()


@pytest.mark.parametrize(
    ("voucher", "on", "by", "message"),
    [
        ("缴1", "2024-6-12", "王会计", "--on '2024-6-12' is not a date; write the day the money was handed back as "
         "YYYY-MM-DD, e.g. --on 2024-06-12"),
        ("缴1", "2024-02-30", "王会计", "--on '2024-02-30' is not a date; write the day the money was handed back "
         "as YYYY-MM-DD, e.g. --on 2024-06-12"),
        (" ", TODAY, "王会计", "--voucher needs the number of the 缴款书 (or other voucher) that handed the money "
         "back"),
        ("缴1", TODAY, " ", '--by needs the name of the person who records it, e.g. --by "王会计"'),
    ],
)  # fmt: skip
def test_a_bad_voucher_date_or_name_is_refused(
    april: Path, tmp_path: Path, voucher: str, on: str, by: str, message: str
) -> None:
    _answer(april, 0, 1.0)
    only_error(_remit(april, voucher, on, by), 2, message)
    assert not (tmp_path / "runs" / "jiaxiang" / "remitted").exists()


def test_a_day_after_today_or_before_the_run_was_made_is_refused(april: Path, tmp_path: Path) -> None:
    _answer(april, 0, 1.0)
    tomorrow = (datetime.now(SHANGHAI).date() + timedelta(days=1)).isoformat()
    only_error(
        _remit(april, "缴1", tomorrow),
        2,
        f"--on {tomorrow} is after today ({TODAY}): record money once it has been handed back",
    )
    manifest = json.loads((april / "manifest.json").read_text(encoding="utf-8"))
    made = manifest["created_at"][:10]
    # the day before the run was made: its bank files had not even been written
    before = (datetime.fromisoformat(made) - timedelta(days=1)).date().isoformat()
    only_error(
        _remit(april, "缴1", before),
        2,
        f"--on {before} is before {manifest['run_id']} was made ({made}): its money cannot have come back from "
        "the bank yet; give the day on the voucher",
    )
    assert _remit(april, "缴1", made).exit_code == 0  # the day it was made is allowed


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    only_error(
        _remit(tmp_path, "缴1"),
        2,
        f"{tmp_path} is not a stored run (it holds no manifest.json); name the run whose bank answer failed lines",
    )


def _stopped(tmp_path: Path):
    """The list refused as damaged: exit 9, no traceback."""
    result = _listed(tmp_path)
    no_traceback(result)
    assert result.exit_code == 9
    return result


def test_an_edited_record_or_one_whose_answer_is_gone_stops_the_list(april: Path, tmp_path: Path) -> None:
    _answer(april, 0, 1.0)
    assert _remit(april, "缴1").exit_code == 0
    (record,) = (tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.json")
    text = record.read_text(encoding="utf-8")
    os.chmod(record, 0o644)
    record.write_text(text.replace('"12345.00"', '"12000.00"'), encoding="utf-8")
    result = _stopped(tmp_path)
    assert "it records 12000.00 yuan, the answer" in result.stderr and "returned 12345.00" in result.stderr
    record.write_text(text, encoding="utf-8")
    # the answer's folder deleted: the record of its money is refused, never dropped from the list
    shutil.rmtree(tmp_path / "runs" / "jiaxiang" / "2024-04.returns")
    result = _stopped(tmp_path)
    assert "it records money handed back from an answer that is not recorded" in result.stderr


def _withdraw(run_dir: Path, voucher: str, reason: str = "凭证号录错", by: str = "李科长", *extra: str):
    return cli(
        "withdraw-remittance", str(run_dir), "--voucher", voucher, "--reason", reason, "--by", by, *extra
    )


def _chain(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.json"))


def test_a_record_made_in_error_is_withdrawn_by_a_record_after_it_and_the_money_is_owed_again(
    april: Path, tmp_path: Path
) -> None:
    _answer(april, 0, 1.0)  # bank_01: 48 lines, 12,345.00 came back
    _answer(april, 3, 1.0)  # bank_04: 51 lines, 9,515.00
    assert _remit(april, "缴2024-0O1").exit_code == 0  # a letter O typed for a zero: both answers covered
    folders = sorted(a["answer"] for a in _funds(tmp_path)["answers"])
    done = _withdraw(april, "缴2024-0O1", "凭证号录错", "李科长", "--json")
    assert done.exit_code == 0, done.output
    records = json.loads(done.stdout)["records"]
    assert [(r["answer"], r["amount"], r["voucher"], r["withdraws"], r["reason"]) for r in records] == [
        (folders[0], "12345.00", "缴2024-0O1", f"{folders[0]}.json", "凭证号录错"),
        (folders[1], "9515.00", "缴2024-0O1", f"{folders[1]}.json", "凭证号录错"),
    ]
    # the records stay, each answer's withdrawal after them; all 21,860.00 is still to hand back
    assert _chain(tmp_path) == sorted([f"{f}.json" for f in folders] + [f"{f}.2.json" for f in folders])
    funds = _funds(tmp_path)
    assert funds["totals"] == {
        "answers": 2,
        "returned": "21860.00",
        "remitted": "0.00",
        "not_remitted": "21860.00",
    }
    assert [a["voucher"] for a in funds["answers"]] == [None, None]
    assert funds["answers"][0]["withdrawn"] == [
        {
            "voucher": "缴2024-0O1",
            "remitted_on": TODAY,
            "recorded_by": "王会计",
            "withdrawn_by": "李科长",
            "withdrawn_at": funds["answers"][0]["withdrawn"][0]["withdrawn_at"],
            "reason": "凭证号录错",
        }
    ]
    assert funds["answers"][0]["withdrawn"][0]["withdrawn_at"][:10] == TODAY
    # withdrawn once: the same voucher names no record any more
    only_error(
        _withdraw(april, "缴2024-0O1"),
        2,
        f"no money the bank answers to {records[0]['run_id']} returned is recorded as handed back by voucher "
        "'缴2024-0O1'; none of it is recorded as handed back",
    )
    # recorded again with the right number: the third record of each chain, 21,860.00 handed back
    again = _remit(april, "缴2024-001")
    assert again.exit_code == 0, again.output
    assert len(_chain(tmp_path)) == 6
    funds = _funds(tmp_path)
    assert funds["totals"]["remitted"] == "21860.00" and funds["totals"]["not_remitted"] == "0.00"
    assert [(a["voucher"], len(a["withdrawn"])) for a in funds["answers"]] == [("缴2024-001", 1)] * 2
    # a wrong voucher named: refused, naming the one that stands
    only_error(
        _withdraw(april, "缴2024-0O1"),
        2,
        f"no money the bank answers to {records[0]['run_id']} returned is recorded as handed back by voucher "
        "'缴2024-0O1'; the vouchers recorded for it: 缴2024-001",
    )
    assert verify_run(april).identical


def test_a_voucher_withdrawn_leaves_the_answers_other_vouchers_cover(april: Path, tmp_path: Path) -> None:
    _answer(april, 0, 1.0)
    assert _remit(april, "缴A").exit_code == 0  # bank_01, 12,345.00
    _answer(april, 3, 1.0)
    assert _remit(april, "缴B").exit_code == 0  # bank_04, 9,515.00
    withdrawn = _withdraw(april, "缴B", "国库退回缴款书")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert withdrawn.stdout.count("\n") == 1 and "9515.00 yuan of the answer" in withdrawn.stdout
    # 21,860.00 returned, 12,345.00 by 缴A stands, 9,515.00 is owed again
    assert _funds(tmp_path)["totals"] == {
        "answers": 2,
        "returned": "21860.00",
        "remitted": "12345.00",
        "not_remitted": "9515.00",
    }
    listed = _listed(tmp_path)
    assert listed.exit_code == 0, listed.output
    assert (
        f"      withdrawn {TODAY} by 李科长: voucher 缴B of {TODAY} (王会计), 国库退回缴款书"
        in listed.stdout.splitlines()
    )
    # the next voucher covers only the answer owed again
    again = cli("remitted", str(april), "--voucher", "缴C", "--on", TODAY, "--by", "王会计", "--json")
    assert [r["amount"] for r in json.loads(again.stdout)["records"]] == ["9515.00"]


@pytest.mark.parametrize(
    ("reason", "by", "message"),
    [
        (" ", "李科长", "--reason needs why the record is withdrawn, e.g. --reason 凭证号录错 (an auditor reads it "
         "beside the record)"),
        ("凭证号录错", "", '--by needs the name of the person who withdraws it, e.g. --by "王会计"'),
    ],
)  # fmt: skip
def test_a_withdrawal_needs_a_reason_and_a_name(
    april: Path, tmp_path: Path, reason: str, by: str, message: str
) -> None:
    _answer(april, 0, 1.0)
    assert _remit(april, "缴1").exit_code == 0
    only_error(_withdraw(april, "缴1", reason, by), 2, message)
    assert len(_chain(tmp_path)) == 1


def test_a_withdrawal_of_a_run_with_no_returned_money_or_not_a_run_is_refused(
    april: Path, tmp_path: Path
) -> None:
    _answer(april, 1, 0.0)
    result = _withdraw(april, "缴1")
    no_traceback(result)
    assert result.exit_code == 2 and "failed a line, so no money came back from it" in result.stderr
    only_error(
        _withdraw(tmp_path, "缴1"),
        2,
        f"{tmp_path} is not a stored run (it holds no manifest.json); name the run whose bank answer failed lines",
    )


def _edit(path: Path, old: str, new: str) -> None:
    os.chmod(path, 0o644)
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_a_chain_edited_or_cut_stops_the_list_and_the_next_record(april: Path, tmp_path: Path) -> None:
    _answer(april, 0, 1.0)
    assert _remit(april, "缴1").exit_code == 0
    assert _withdraw(april, "缴1").exit_code == 0
    assert _remit(april, "缴2").exit_code == 0
    first, second, third = (
        sorted(
            p
            for p in (tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.json")
            if p.name.count(".") == 1
        )
        + sorted((tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.2.json"))
        + sorted((tmp_path / "runs" / "jiaxiang" / "remitted").glob("*/*.3.json"))
    )
    # the withdrawal made to name another voucher than the record it withdraws
    _edit(second, '"voucher": "缴1"', '"voucher": "缴9"')
    result = _stopped(tmp_path)
    assert f"{second}: it withdraws voucher 缴9, and the record before it is of voucher 缴1" in result.stderr
    # ... and a recording on top of it is refused the same way, nothing written
    assert _remit(april, "缴3").exit_code == 9 and len(_chain(tmp_path)) == 3
    _edit(second, '"voucher": "缴9"', '"voucher": "缴1"')
    # a withdrawal turned into a record of money handed back
    _edit(second, '"returned_funds_remittance_withdrawn"', '"returned_funds_remitted"')
    result = _stopped(tmp_path)
    assert "its place in the chain holds 'returned_funds_remittance_withdrawn'" in result.stderr
    _edit(second, '"returned_funds_remitted"', '"returned_funds_remittance_withdrawn"')
    assert _funds(tmp_path)["totals"]["remitted"] == "12345.00"
    # the withdrawal deleted: the record after it is refused, never read as the first withdrawn
    text = second.read_text(encoding="utf-8")
    second.unlink()
    result = _stopped(tmp_path)
    assert f"{third}: it records money handed back from an answer that is not recorded" in result.stderr
    assert "or follows a record of the chain that is missing" in result.stderr
    second.write_text(text, encoding="utf-8")
    assert first.exists() and _funds(tmp_path)["totals"]["not_remitted"] == "0.00"


def _sha8(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def _sheet(path: Path, name: str) -> list[list]:
    """A sheet of the statement as its cells, row by row, each as text (a number as Excel shows it without
    a format: 12345.00 as 12345), None for an empty cell."""
    return [list(r) for r in fastexcel.read_excel(path).load_sheet(name, header_row=None).to_polars().rows()]


def test_the_statement_to_sign_lists_every_answer_line_and_withdrawn_record(
    april: Path, tmp_path: Path
) -> None:
    _answer(april, 0, 1.0)  # bank_01: 48 lines, 12,345.00 came back
    assert _remit(april, "缴2024-0O1").exit_code == 0
    assert _withdraw(april, "缴2024-0O1", "凭证号录错", "李科长").exit_code == 0
    assert _remit(april, "缴2024-001").exit_code == 0  # bank_01 handed back under the right number
    _answer(april, 3, 1.0)  # bank_04: 51 lines, 9,515.00, still to hand back
    out = tmp_path / "statements"
    result = _listed(tmp_path, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    (written,) = json.loads(result.stdout)["written"]
    path = Path(written)
    # named by the day and the first 8 hex digits of its sha256: a signed statement is never replaced
    assert path.parent == out and path.name == f"returned-funds-jiaxiang-{TODAY}-{_sha8(path)}.xlsx"
    assert fastexcel.read_excel(path).sheet_names == ["上缴汇总", "退票明细"]
    summary = _sheet(path, "上缴汇总")
    assert summary[0][0] == f"嘉祥县退票资金上缴情况表（截至 {TODAY[:4]}年{TODAY[5:7]}月{TODAY[8:]}日）" + (
        "returned bank money and its handback to the treasury"
    )
    assert summary[1][:7] == [
        "所属期",
        "发放批次 run",
        "银行回盘 answer",
        "代发银行",
        "退票笔数",
        "退票金额（元）",
        "状态",
    ]
    answers = summary[2:4]
    assert [(r[3], r[4], r[5], r[6], r[7], r[8], r[9]) for r in answers] == [
        ("中国农业银行嘉祥县支行", "48", "12345", "已上缴", "缴2024-001", TODAY, "王会计"),
        ("嘉祥农村商业银行", "51", "9515", "待上缴", None, None, None),
    ]
    assert answers[0][10] == f"缴2024-0O1（{TODAY}，王会计）{TODAY} 李科长撤销：凭证号录错"
    assert answers[1][10] is None
    # the totals: 48 + 51 = 99 lines, 12,345.00 + 9,515.00 = 21,860.00, of which the 48 lines' 12,345.00
    # are handed back; then the summary line and the signature block
    totals = summary[summary.index(next(r for r in summary if r[0] == "项目")) + 1 :][:3]
    assert [r[:3] for r in totals] == [
        ["退票合计", "99", "21860"],
        ["已上缴", "48", "12345"],
        ["待上缴", "51", "9515"],
    ]
    flat = [c for r in summary for c in r if c is not None]
    assert "合计：2 个银行回盘退票 21860.00 元，已上缴 12345.00 元，待上缴 9515.00 元" in flat
    assert {"经办人：", "审核人：", "负责人：", "日期："} <= set(flat)
    # every failed line, its ID and account masked; the amounts add up to the answers' 21,860.00
    lines = _sheet(path, "退票明细")
    assert lines[1][6:] == [
        "姓名",
        "身份证号",
        "银行账号",
        "金额（元）",
        "原因",
        "原因代码",
        "银行的原因",
        "缴款书号",
    ]
    body = lines[2:-2]
    assert len(body) == 99 and sum(Decimal(r[9]) for r in body) == Decimal("21860")
    assert [sum(1 for r in body if r[13] == v) for v in ("缴2024-001", "待上缴")] == [48, 51]
    assert {r[3] for r in body if r[13] == "待上缴"} == {"嘉祥农村商业银行"}
    assert all(len(r[7]) == 18 and r[7][6:14] == "********" for r in body)
    assert all(r[8][6:14] == "********" for r in body)
    assert all(r[10] == BANK_REASONS_ZH[r[11]] for r in body)
    assert lines[-1][0] == "共 99 笔，21860.00 元；身份证号与银行账号已隐去中间位"
    # no full ID number or bank account anywhere in the file
    sent = pl.concat(
        pl.read_parquet(p)
        for p in (tmp_path / "runs" / "jiaxiang").glob("2024-04.returns/*/*/returns.parquet")
    )
    with zipfile.ZipFile(path) as book:
        xml = b"".join(book.read(n) for n in book.namelist()).decode("utf-8")
    assert sent.height == 48 + 51
    assert not any(v in xml for v in sent["id_number"].to_list() + sent["bank_account"].to_list())
    # the same records listed the same day: the same file; the list and the records are unchanged
    first = path.read_bytes()
    assert _listed(tmp_path, "--out", str(out)).exit_code == 0
    assert path.read_bytes() == first and [p.name for p in out.iterdir()] == [path.name]
    assert len(_chain(tmp_path)) == 3 and verify_run(april).identical  # bank_01: record, withdrawal, record
    # bank_04 handed back: a second statement beside the first, which stays as it was printed
    assert _remit(april, "缴2024-002").exit_code == 0
    assert _listed(tmp_path, "--out", str(out)).exit_code == 0
    assert len(list(out.iterdir())) == 2 and path.read_bytes() == first


def test_the_statement_is_refused_under_a_runs_folder_and_written_when_nothing_came_back(
    april: Path, tmp_path: Path
) -> None:
    inside = tmp_path / "runs" / "statements"
    only_error(
        _listed(tmp_path, "--out", str(inside)),
        2,
        f"--out {inside} is under a runs folder; a returned-funds statement never writes where accepted runs are",
    )
    assert not inside.exists()
    a_file = tmp_path / "statement.xlsx"
    a_file.write_bytes(b"")
    only_error(
        _listed(tmp_path, "--out", str(a_file)),
        2,
        f"--out {a_file} is a file, not a folder; give the folder to write a returned-funds statement to",
    )
    result = _listed(tmp_path, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").iterdir()
    assert result.stdout.splitlines()[-1] == f"  written to {path}"
    summary = _sheet(path, "上缴汇总")
    assert [r[:3] for r in summary if r[0] in ("退票合计", "已上缴", "待上缴")] == [
        ["退票合计", "0", "0"],
        ["已上缴", "0", "0"],
        ["待上缴", "0", "0"],
    ]
    assert _sheet(path, "退票明细")[-1][0] == "共 0 笔，0.00 元；身份证号与银行账号已隐去中间位"


def test_every_bank_reason_code_has_a_chinese_label() -> None:
    assert set(BANK_REASONS_ZH) == set(REASON_CODES)


def test_an_account_or_id_in_the_banks_words_or_a_withdrawal_reason_is_masked_in_the_statement(
    april: Path, tmp_path: Path
) -> None:
    """A bank's reason may quote the account or ID it refused, and a clerk may type one into a reason."""
    written = synth_returns(april, 1.0, 3, tmp_path / "answers-0")[0]
    text = written.path.read_bytes().decode("gb18030")  # the layout of bank_01: GB18030 CSV
    account, id_number = "6228400020272949", "37082919381006000X"
    first = next(
        line for line in text.splitlines()[1:] if "户名不符" in line or "无此" in line or "冻结" in line
    )
    reason = next(r for r in ("户名不符", "无此帐号或存折", "账户冻结") if r in first)
    changed = first.replace(reason, f"{reason}，账号{account}，证件号{id_number}", 1)
    written.path.write_bytes(text.replace(first, changed, 1).encode("gb18030"))
    import_returns(april, written.path, config_dir=CONFIG)
    assert _remit(april, "缴1").exit_code == 0
    assert _withdraw(april, "缴1", f"录成了账号{account}").exit_code == 0
    result = _listed(tmp_path, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert account not in result.stdout and "622840********2949" in result.stdout
    (path,) = (tmp_path / "out").iterdir()
    with zipfile.ZipFile(path) as book:
        xml = b"".join(book.read(n) for n in book.namelist()).decode("utf-8")
    assert account not in xml and id_number not in xml
    assert "账号622840********2949，证件号370829********000X" in xml and "录成了账号622840********2949" in xml
