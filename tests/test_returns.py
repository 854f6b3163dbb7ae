"""Bank result files (回盘): the round trip in every layout, and every result that must be refused with
nothing recorded (another batch, a duplicate import, totals that do not add up, unknown or repeated
references, unanswered lines)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.errors import ReturnsError, UsageError, VerifyError
from subsidy_batch.period import Period
from subsidy_batch.returns.record import RETURNS, import_returns, returned_items, returns_of
from subsidy_batch.returns.synth import synth_returns
from subsidy_batch.rules.layouts import load_reasons
from subsidy_batch.runs.facility import FacilityRunRequest, run_facilities
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT

runner = CliRunner()


@pytest.fixture(scope="module")
def caoxian_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cao County, 2024-05, from its sample roster: four banks in the csv, xlsx and fixed layouts."""
    runs = tmp_path_factory.mktemp("runs")
    request = RunRequest(
        Period(2024, 5), "caoxian", runs_dir=runs, config_dir=CONFIG, rosters_dir=ROOT / "rosters"
    )
    return run_month(request).run_dir


@pytest.fixture
def caoxian(caoxian_run: Path, tmp_path: Path) -> Path:
    """A private copy of the run (its returns are recorded beside it)."""
    shutil.copytree(caoxian_run, tmp_path / "runs" / "caoxian" / "2024-05")
    return tmp_path / "runs" / "caoxian" / "2024-05"


@pytest.fixture
def jiaxiang(tmp_path: Path) -> Path:
    """A copy of the stored Jiaxiang 2024-04 run (csv layout, four banks)."""
    shutil.copytree(ROOT / "runs" / "jiaxiang" / "2024-04", tmp_path / "runs" / "jiaxiang" / "2024-04")
    return tmp_path / "runs" / "jiaxiang" / "2024-04"


def _result(run_dir: Path, tmp_path: Path, index: int = 0, fail_rate: float = 0.05, seed: int = 5) -> Path:
    return synth_returns(run_dir, fail_rate, seed, tmp_path / f"results-{seed}-{fail_rate}")[index].path


def _nothing_recorded(run_dir: Path) -> bool:
    return returns_of(run_dir).height == 0


def test_the_round_trip_runs_in_every_layout_and_the_run_still_verifies(
    caoxian: Path, tmp_path: Path
) -> None:
    written = synth_returns(caoxian, 0.05, 5, tmp_path / "results")
    assert [w.path.suffix for w in written] == [".csv", ".xlsx", ".txt", ".csv"]
    recorded = [import_returns(caoxian, w.path, config_dir=CONFIG) for w in written]
    frame = returns_of(caoxian)
    assert frame.schema == RETURNS | {"record": pl.String}
    payments = pl.read_parquet(caoxian / "payments.parquet")
    # every payee answered once, with the amount sent
    assert frame.height == payments.height
    assert frame.get_column("amount").sum() == payments.get_column("amount").sum()
    assert frame.filter(pl.col("status") == "failed").height == sum(w.failed for w in written) > 0
    assert set(frame.get_column("reason").drop_nulls()) <= {
        "name_mismatch",
        "no_such_account",
        "account_closed",
        "account_frozen",
        "other",
    }
    # the failed lines keep the bank's own code and text; succeeded lines have none
    ok = frame.filter(pl.col("status") == "succeeded")
    assert ok.get_column("reason").null_count() == ok.get_column("bank_reason_text").null_count() == ok.height
    for done in recorded:
        folder = done.record_dir
        assert folder.parent.name == done.record["run_id"] and folder.parent.parent.name == "2024-05.returns"
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [done.record["file"], "reasons.yaml", "returns.json", "returns.parquet"]
        )
    verdict = verify_run(caoxian)
    assert verdict.identical, verdict.differing


@pytest.mark.parametrize("ending", ["LF", "CR", "blank lines at the end"])
@pytest.mark.parametrize("index", [0, 2], ids=["csv", "fixed"])
def test_a_result_whose_lines_do_not_end_crlf_reads_as_the_same_lines(
    caoxian: Path, tmp_path: Path, index: int, ending: str
) -> None:
    """A bank's system on Unix ends its lines LF, an old one CR, and an edited file may carry blank lines
    at its end: the same lines, answers and totals as the CRLF file the bank would otherwise send."""
    written = synth_returns(caoxian, 0.3, 2, tmp_path / "results")[index]
    data = written.path.read_bytes()
    controls = {0: 1, 2: 2}[index]  # csv: a header record; fixed: a header and a trailer record
    assert data.count(b"\r\n") == written.lines + controls
    changed = {
        "LF": data.replace(b"\r\n", b"\n"),
        "CR": data.replace(b"\r\n", b"\r"),
        "blank lines at the end": data + b"\r\n\r\n",
    }[ending]
    path = tmp_path / "as-received" / written.path.name
    path.parent.mkdir()
    path.write_bytes(changed)
    done = import_returns(caoxian, path, config_dir=CONFIG)
    frame = returns_of(caoxian)
    assert frame.height == written.lines > 0
    assert frame.filter(pl.col("status") == "failed").height == done.record["summary"]["failed"]["count"]
    assert done.record["summary"]["failed"]["count"] == written.failed > 0
    assert (done.record_dir / written.path.name).read_bytes() == changed  # kept as the bank sent it


def test_a_line_naming_another_account_than_was_sent_is_refused(jiaxiang: Path, tmp_path: Path) -> None:
    """The bank says it paid an account the county never sent: nothing is recorded until it says which."""
    path = _result(jiaxiang, tmp_path, fail_rate=0.0)
    line = _lines(path)[1].split(",")
    account = line[4]
    assert account.isdigit() and len(account) >= 8
    other = account[:-1] + str((int(account[-1]) + 1) % 10)  # the last digit one higher
    _tamper(path, _lines(path)[1], ",".join([*line[:4], other, *line[5:]]))
    with pytest.raises(
        ReturnsError, match=rf"reference {line[1]} returns another bank account than was sent; ask the bank"
    ) as refused:
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)
    assert account not in str(refused.value) and other not in str(refused.value)  # no account in messages


def test_a_paid_line_naming_another_holder_is_refused_and_a_failed_one_is_not(
    jiaxiang: Path, tmp_path: Path
) -> None:
    """A bank that says it paid 李四 where 张三 was sent has paid someone: nothing is recorded until it says
    whom. A failed line may carry the holder's own name (户名不符), and a space or middle dot is no change."""
    path = _result(jiaxiang, tmp_path, fail_rate=0.0)
    line = _lines(path)[1].split(",")
    sent_name = line[2]
    _tamper(path, _lines(path)[1], ",".join([*line[:2], sent_name[0] + " " + sent_name[1:], *line[3:]]))
    second = _lines(path)[2].split(",")
    _tamper(path, _lines(path)[2], ",".join([*second[:2], "另一人", *second[3:]]))
    with pytest.raises(ReturnsError) as refused:
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert str(refused.value).endswith(
        f"reference {second[1]} says it paid a holder by another name than was sent; ask the bank whom it "
        "paid, and for the file again, before anything is recorded"
    )
    assert _nothing_recorded(jiaxiang)
    # the same line failed instead (户名不符, its totals moved with it): recorded, with the name as sent
    _tamper(
        path,
        ",".join([*second[:2], "另一人", *second[3:]]),
        ",".join([*second[:2], "另一人", *second[3:6], "失败", "0130Z0100005", "户名不符"]),
    )
    amount = second[5]
    header = _lines(path)[0].split(",")
    paid_fen = round(float(header[7]) * 100) - round(float(amount) * 100)
    header[6:10] = [str(int(header[6]) - 1), f"{paid_fen / 100:.2f}", "1", amount]
    _tamper(path, _lines(path)[0], ",".join(header))
    imported = import_returns(jiaxiang, path, config_dir=CONFIG)
    frame = returns_of(jiaxiang).filter(pl.col("reference") == second[1])
    assert frame.select("name", "status", "reason").row(0) == (second[2], "failed", "name_mismatch")
    assert imported.record["summary"]["failed"]["count"] == 1


def test_an_amount_too_long_for_decimal_18_2_is_refused_not_overflowed(
    jiaxiang: Path, tmp_path: Path
) -> None:
    """26 digits of yuan cannot be a payment (Decimal(18,2) holds 16) and overflow an Int64 of fen."""
    path = _result(jiaxiang, tmp_path, fail_rate=0.0)
    line = _lines(path)[1].split(",")
    forged = [*line[:5], "9" * 26 + ".00", *line[6:]]
    _tamper(path, _lines(path)[1], ",".join(forged))
    with pytest.raises(
        ReturnsError,
        match=r"an amount is not written as yuan with 2 decimals \(at most 16 digits before the point\)",
    ):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_a_partial_failure_is_summed_by_reason(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path, fail_rate=0.3, seed=2)
    done = import_returns(jiaxiang, path, config_dir=CONFIG)
    s = done.record["summary"]
    frame = returns_of(jiaxiang)
    failed = frame.filter(pl.col("status") == "failed")
    assert 0 < s["failed"]["count"] == failed.height < frame.height
    assert (
        Decimal(s["failed"]["amount"]) + Decimal(s["succeeded"]["amount"]) == frame.get_column("amount").sum()
    )
    by_reason = {k: v["count"] for k, v in s["failed"]["by_reason"].items() if v["count"]}
    assert by_reason == dict(failed.group_by("reason").len().iter_rows())
    # the ledger's view: the paid line items behind each failed line
    items = returned_items(jiaxiang)
    assert set(items.get_column("id_number")) == set(failed.get_column("id_number"))
    assert items.get_column("amount").sum() == failed.get_column("amount").sum()


def test_all_lines_failed(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path, fail_rate=1.0)
    s = import_returns(jiaxiang, path, config_dir=CONFIG).record["summary"]
    assert s["succeeded"] == {"count": 0, "amount": "0.00"}
    assert s["failed"]["count"] == returns_of(jiaxiang).height > 0


def test_a_result_for_another_batch_is_refused(jiaxiang: Path, tmp_path: Path) -> None:
    march = tmp_path / "runs" / "jiaxiang" / "2024-03"
    shutil.copytree(ROOT / "runs" / "jiaxiang" / "2024-03", march)
    path = _result(march, tmp_path)
    with pytest.raises(
        ReturnsError,
        match=r"answers batch 'jiaxiang-2024-03-2-[0-9a-f]{10}', not this run's batch jiaxiang-2024-04-1-",
    ):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_a_duplicate_import_is_refused_and_so_is_a_second_answer_to_the_same_bank_file(
    jiaxiang: Path, tmp_path: Path
) -> None:
    path = _result(jiaxiang, tmp_path)
    import_returns(jiaxiang, path, config_dir=CONFIG)
    with pytest.raises(ReturnsError, match=r"was already imported on .*; a result is recorded once"):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    other = _result(jiaxiang, tmp_path, seed=6)  # the same bank file answered again, differently
    with pytest.raises(ReturnsError, match=r"bank/bank_01_.*\.csv already has an accepted result"):
        import_returns(jiaxiang, other, config_dir=CONFIG)
    assert returns_of(jiaxiang).get_column("record").n_unique() == 1


def _tamper(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_bytes().decode("gb18030")
    assert old in text
    path.write_bytes(text.replace(old, new, count).encode("gb18030"))


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("gb18030").split("\r\n")


def test_tampered_totals_are_refused(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path)
    head = _lines(path)[0].split(",")
    head[5] = f"{Decimal(head[5]) + 1:.2f}"  # one yuan more in the control record
    _tamper(path, _lines(path)[0], ",".join(head))
    with pytest.raises(
        ReturnsError,
        match=r"its control record states \d+ lines and [0-9.]+ yuan, .*the totals do not add up",
    ):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_a_line_amount_changed_with_its_totals_is_still_refused(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path, fail_rate=0.0)
    lines = _lines(path)
    first = lines[1].split(",")
    first[5] = f"{Decimal(first[5]) + 1:.2f}"
    head = lines[0].split(",")
    head[5] = head[7] = f"{Decimal(head[5]) + 1:.2f}"
    _tamper(path, lines[1], ",".join(first))
    _tamper(path, lines[0], ",".join(head))
    with pytest.raises(ReturnsError, match=rf"reference {first[1]} returns [0-9.]+ yuan, but bank/.* sent"):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_an_unknown_reference_is_refused(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path)
    reference = _lines(path)[1].split(",")[1]
    forged = reference[:-6] + "999999"
    _tamper(path, reference + ",", forged + ",")
    with pytest.raises(
        ReturnsError, match=rf"answers reference {forged}, which bank/bank_01_.*\.csv never sent"
    ):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_a_reference_answered_twice_is_refused(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path)
    lines = _lines(path)
    second = lines[2].split(",")
    second[1] = lines[1].split(",")[1]  # line 2 carries line 1's reference
    _tamper(path, lines[2], ",".join(second))
    with pytest.raises(ReturnsError, match=rf"answers reference {second[1]} twice"):
        import_returns(jiaxiang, path, config_dir=CONFIG)
    assert _nothing_recorded(jiaxiang)


def test_a_result_that_leaves_lines_unanswered_is_refused(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path, fail_rate=0.0)
    lines = _lines(path)
    _tamper(path, lines[-2] + "\r\n", "")  # the last line left out (a bank that lists only failures)
    with pytest.raises(ReturnsError, match=r"leaves 1 line\(s\) of bank/.* unanswered"):
        import_returns(jiaxiang, path, config_dir=CONFIG)


def test_synthetic_results_are_the_same_for_a_seed(jiaxiang: Path, tmp_path: Path) -> None:
    one = synth_returns(jiaxiang, 0.2, 9, tmp_path / "a")
    two = synth_returns(jiaxiang, 0.2, 9, tmp_path / "b")
    three = synth_returns(jiaxiang, 0.2, 10, tmp_path / "c")
    assert [w.path.read_bytes() for w in one] == [w.path.read_bytes() for w in two]
    assert [w.path.read_bytes() for w in one] != [w.path.read_bytes() for w in three]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("户名不符", "name_mismatch"),
        ("收款方户名输入错误", "name_mismatch"),
        ("无此账号", "no_such_account"),
        ("无此帐号或存折", "no_such_account"),
        ("账户已销户", "account_closed"),
        ("账户冻结", "account_frozen"),
        ("账户状态异常", "account_frozen"),
        ("该账户已被司法冻结", "account_frozen"),
        ("身份证号码不符", "id_mismatch"),
        ("户名与证件号不符", "id_mismatch"),
        ("客户已死亡", "holder_deceased"),
        ("账户已销户（客户已故）", "holder_deceased"),  # the death wins over the closed account
        ("交易失败，请联系开户行", "other"),
    ],
)
def test_bank_reason_texts_map_to_the_closed_set_of_codes(text: str, code: str) -> None:
    assert load_reasons(CONFIG).code("", text) == code


def test_the_command_line_summarises_per_bank_and_refuses_with_exit_12(
    jiaxiang: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    made = runner.invoke(
        app, ["synth-returns", str(jiaxiang), "--fail-rate", "0.3", "--seed", "2", "--out", str(out)]
    )
    assert made.exit_code == 0, made.output
    files = sorted(out.iterdir())
    assert len(files) == 4
    done = runner.invoke(app, ["returns", str(jiaxiang), str(files[0]), "--config-dir", str(CONFIG)])
    assert done.exit_code == 0, done.output
    assert "succeeded" in done.stdout and "failed" in done.stdout and "recorded in" in done.stdout
    again = runner.invoke(
        app, ["returns", str(jiaxiang), str(files[0]), "--config-dir", str(CONFIG), "--json"]
    )
    assert again.exit_code == 12
    payload = json.loads(again.stdout)
    assert payload["error"] == "returns" and "already imported" in payload["message"]
    wrong = runner.invoke(
        app, ["returns", str(jiaxiang), str(files[1]), "--bank", "no such bank", "--config-dir", str(CONFIG)]
    )
    assert wrong.exit_code == 12 and "--bank 'no such bank' is not a bank of" in wrong.stderr


def test_a_fixed_width_result_with_a_tampered_trailer_is_refused(caoxian: Path, tmp_path: Path) -> None:
    path = _result(caoxian, tmp_path, index=2)  # 曹县农村商业银行, fixed layout
    assert path.suffix == ".txt"
    data = path.read_bytes()
    trailer = data.removesuffix(b"\r\n").rsplit(b"\r\n", 1)[1]
    total = trailer[11:29]
    forged = str(int(total) + 100).zfill(18).encode()  # one yuan more, in fen
    path.write_bytes(data.replace(b"T" + trailer[1:11] + total, b"T" + trailer[1:11] + forged))
    with pytest.raises(ReturnsError, match="the totals do not add up, so nothing was recorded"):
        import_returns(caoxian, path, config_dir=CONFIG)
    assert _nothing_recorded(caoxian)


def test_a_recorded_result_that_was_altered_afterwards_is_not_listed(jiaxiang: Path, tmp_path: Path) -> None:
    done = import_returns(jiaxiang, _result(jiaxiang, tmp_path), config_dir=CONFIG)
    parquet = done.record_dir / "returns.parquet"
    frame = pl.read_parquet(parquet).with_columns(status=pl.lit("succeeded"), reason=pl.lit(None, pl.String))
    frame = frame.with_columns(name=pl.lit("改写"))  # what anyone editing the record could do
    frame.write_parquet(parquet)
    with pytest.raises(VerifyError) as refused:  # a damaged record (exit 9), not a refused bank file
        returns_of(jiaxiang)
    assert str(refused.value) == (
        f"{parquet}: it does not match its checksum in returns.json; it is a bank's accepted answer, which "
        "every later run reads to hold and reissue the lines that failed: restore its folder from a backup "
        "(never delete it), then run again"
    )


def test_a_facility_runs_results_name_the_facilities_line_items(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "anqiu" / "facilities-2024"
    shutil.copytree(ROOT / "runs" / "anqiu" / "facilities-2024", run_dir)
    for written in synth_returns(run_dir, 0.5, 3, tmp_path / "results"):
        import_returns(run_dir, written.path, config_dir=CONFIG)
    failed = returns_of(run_dir).filter(pl.col("status") == "failed")
    items = returned_items(run_dir)
    assert failed.height > 0
    assert set(items.get_column("facility_id")) == set(failed.get_column("id_number"))
    assert items.get_column("amount").sum() == failed.get_column("amount").sum()
    verdict = verify_run(run_dir)
    assert verdict.identical, verdict.differing
    # the bank paid half of its lines: the year is never superseded (it would send them again)
    request = FacilityRunRequest(
        2024, "anqiu", runs_dir=tmp_path / "runs", rosters_dir=ROOT / "rosters", supersede_reason="again"
    )
    with pytest.raises(UsageError, match="anqiu facilities-2024 was answered by the bank"):
        run_facilities(request)
    assert not (tmp_path / "runs" / "anqiu" / "superseded").exists()


@pytest.mark.parametrize("holder", ["99999999999999999999", "not a number", ""])
def test_an_import_lock_no_process_can_hold_is_taken_over(
    jiaxiang: Path, tmp_path: Path, holder: str
) -> None:
    """A lock left with a number no process can have (os.kill raised OverflowError: exit 70), or no
    number, is a stale lock: the import takes it over, records the result and removes the lock."""
    run_id = json.loads((jiaxiang / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    returns_dir = jiaxiang.parent / f"{jiaxiang.name}.returns" / run_id
    returns_dir.mkdir(parents=True)
    (returns_dir / ".lock").write_text(holder)
    import_returns(jiaxiang, _result(jiaxiang, tmp_path), config_dir=CONFIG)
    assert returns_of(jiaxiang).get_column("record").n_unique() == 1
    assert not (returns_dir / ".lock").exists()


def test_a_result_under_a_workbooks_name_that_holds_text_says_so(caoxian: Path, tmp_path: Path) -> None:
    """A bank's system may export its answer as text under the .xlsx name: the refusal says what the file
    is, not the spreadsheet reader's "Zip error", and records nothing."""
    path = _result(caoxian, tmp_path, index=1)  # 中国邮政储蓄银行曹县支行, xlsx layout
    assert path.suffix == ".xlsx"
    path.write_bytes("流水号,账号,金额\n1,6221,85.00\n".encode("gb18030"))
    with pytest.raises(ReturnsError) as refused:
        import_returns(caoxian, path, config_dir=CONFIG)
    said = str(refused.value)
    assert f"as xlsx: {path.name}: the file is text (a CSV or tab-separated export" in said
    assert "Zip error" not in said and "calamine" not in said.lower()
    assert _nothing_recorded(caoxian)


# --- answers that are no answer: each refusal says what to do, and leaves no trace ------------------------


def _refused(run_dir: Path, path: Path) -> str:
    with pytest.raises(ReturnsError) as refused:
        import_returns(run_dir, path, config_dir=CONFIG)
    # nothing recorded, and no empty <period>.returns/<run id>/ folder left behind by the import lock
    assert not (run_dir.parent / "2024-04.returns").exists()
    return str(refused.value)


def test_an_empty_file_given_as_the_answer_says_to_ask_the_bank_again(jiaxiang: Path, tmp_path: Path) -> None:
    (tmp_path / "回盘.csv").write_bytes(b"")
    run_id = json.loads((jiaxiang / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    assert _refused(jiaxiang, tmp_path / "回盘.csv") == (
        f"回盘.csv is empty (0 bytes), so it holds no answer; ask the bank to send its result file (回盘) for "
        f"batch {run_id} again, and import that"
    )


def test_the_runs_own_bank_file_given_as_the_answer_is_named_as_such(jiaxiang: Path) -> None:
    sent = sorted((jiaxiang / "bank").glob("bank_02_*.csv"))[0]
    assert _refused(jiaxiang, sent) == (
        f"{sent.name} is the bank file this run sent (bank/{sent.name}), not the bank's answer to it; import "
        "the result file (回盘) the bank returned for it"
    )


def test_an_answer_saved_again_as_utf8_is_named_as_re_saved(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path)
    resaved = tmp_path / "resaved.csv"
    resaved.write_text(path.read_bytes().decode("gb18030"), encoding="utf-8")  # what WPS does on 保存
    assert _refused(jiaxiang, resaved) == (
        "resaved.csv is UTF-8 text, while this run's bank files and the banks' answers to them are GB18030: it "
        "was probably opened and saved again in Excel or WPS, which may change more than the encoding. Import "
        "the result file as the bank sent it (ask the bank for it again if it is lost)"
    )
    import_returns(jiaxiang, path, config_dir=CONFIG)  # the file as the bank sent it is recorded
    assert returns_of(jiaxiang).get_column("record").n_unique() == 1


def test_a_status_word_the_layout_does_not_know_says_where_it_belongs(jiaxiang: Path, tmp_path: Path) -> None:
    path = _result(jiaxiang, tmp_path)
    _tamper(path, ",成功,", ",已入账,")
    message = _refused(jiaxiang, path)
    assert message.endswith(
        "has status '已入账', which the layout csv does not declare (known: 成功, 失败); ask the bank what it "
        "means: a word it uses for paid or failed belongs in returns.statuses of config/banks/csv.yaml (a "
        "config change))"
    )
