"""A run's bank files go to the bank only after a 审核 (check) and a 审批 (approve) by two people:
`subsidy approve` records each step once, and `subsidy release` refuses a run without both. `subsidy
status` shows where each run stands and its next step."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from subsidy_batch.returns.record import import_returns
from subsidy_batch.returns.synth import synth_returns
from subsidy_batch.runs.manifest import SHANGHAI
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT, cli, no_traceback, only_error

RUN_ID = "jiaxiang-2024-04-1-18254d224d"  # the stored Jiaxiang 2024-04: 54,410.00 yuan in 4 bank files


@pytest.fixture
def april(tmp_path: Path) -> Path:
    """A copy of the stored Jiaxiang runs (2023-11 to 2024-04: not the 2024-05 the README's quick start may
    have made beside them); the 2024-04 run, accepted and not released."""
    stored = ROOT / "runs" / "jiaxiang"

    def later(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if Path(folder) == stored and n[:4].isdigit() and n[:7] > "2024-04"]

    shutil.copytree(stored, tmp_path / "runs" / "jiaxiang", ignore=later)
    return tmp_path / "runs" / "jiaxiang" / "2024-04"


def _approve(run_dir: Path, step: str, by: str, *extra: str):
    return cli("approve", str(run_dir), "--step", step, "--by", by, *extra)


def _release(run_dir: Path, by: str = "王会计"):
    return cli("release", str(run_dir), "--by", by)


def _approved_dir(run_dir: Path) -> Path:
    return run_dir.parent / "approved"


def test_a_run_is_released_only_after_a_check_and_an_approval_by_two_people(april: Path) -> None:
    released = april.parent / "released" / f"{RUN_ID}.json"
    only_error(
        _release(april),
        2,
        f"{RUN_ID} is not approved: its bank files go to the bank only after a 审核 and a 审批 by two people, "
        "and it lacks the 审核 (check) and the 审批 (approve); record them with subsidy approve "
        f"{april} --step check --by NAME, then --step approve --by ANOTHER",
    )
    assert not released.exists()
    # the approval cannot come first
    only_error(
        _approve(april, "approve", "张局长"),
        2,
        f"{RUN_ID} is not checked yet: its 审核 comes first (subsidy approve {april} --step check --by NAME), "
        "then the 审批 by another person",
    )
    checked = _approve(april, "check", "李审核")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith(
        f"recorded the 审核 (check) of {RUN_ID} (2024-04, 54410.00 yuan in 4 bank files) by 李审核 at "
    )
    assert (
        f"next: its 审批 by another person (subsidy approve {april} --step approve --by NAME)"
        in checked.stdout
    )
    # checked twice: refused, naming who and when
    again = _approve(april, "check", "王科员")
    no_traceback(again)
    assert again.exit_code == 2 and "was recorded by 李审核 at" in again.stderr
    # released with the check alone: refused, naming what is missing
    only_error(
        _release(april),
        2,
        f"{RUN_ID} is not approved: its bank files go to the bank only after a 审核 and a 审批 by two people, "
        f"and it lacks the 审批 (approve); record them with subsidy approve {april} --step check --by NAME, "
        "then --step approve --by ANOTHER",
    )
    # the checker approving it too (the name with spaces around it): refused
    only_error(
        _approve(april, "approve", " 李审核 "),
        2,
        f"李审核 checked {RUN_ID}; its 审批 needs a second person, never the one who checked it",
    )
    done = _approve(april, "approve", "张局长", "--json")
    assert done.exit_code == 0, done.output
    record = json.loads(done.stdout)
    assert (record["kind"], record["step"], record["by"], record["paid_amount"]) == (
        "run_approval",
        "approve",
        "张局长",
        "54410.00",
    )
    manifest = json.loads((april / "manifest.json").read_text(encoding="utf-8"))
    assert [(f["file"], f["sha256"]) for f in record["bank_files"]] == [
        (o["file"], o["sha256"]) for o in manifest["outputs"] if o["file"].startswith("bank/")
    ]
    assert sorted(p.name for p in _approved_dir(april).iterdir()) == [
        f"{RUN_ID}.approve.json",
        f"{RUN_ID}.check.json",
    ]
    out = _release(april)
    assert out.exit_code == 0, out.output
    assert out.stdout.rstrip().endswith("checked by 李审核 and approved by 张局长")
    stored = json.loads(released.read_text(encoding="utf-8"))
    assert (stored["released_by"], stored["checked_by"], stored["approved_by"]) == (
        "王会计",
        "李审核",
        "张局长",
    )
    # once released, nothing is left to approve; the run still reproduces byte for byte
    only_error(
        _approve(april, "check", "王科员"),
        2,
        f"{RUN_ID} was released to the bank already; there is nothing left to approve",
    )
    assert verify_run(april).identical


@pytest.mark.parametrize(
    ("step", "by", "message"),
    [
        (
            "review",
            "李审核",
            "--step 'review' is not a step; give --step check (审核), then --step approve (审批) by another person",
        ),
        ("check", "  ", '--by needs the name of the person who takes the 审核, e.g. --by "李科长"'),
    ],
    ids=["unknown-step", "no-name"],
)
def test_an_unknown_step_or_an_empty_name_is_refused(april: Path, step: str, by: str, message: str) -> None:
    only_error(_approve(april, step, by), 2, message)
    assert not _approved_dir(april).exists()


def test_a_superseded_run_a_released_one_or_a_folder_that_is_no_run_is_refused(
    april: Path, tmp_path: Path
) -> None:
    superseded = april.parent / "superseded" / "2024-03" / "jiaxiang-2024-03-1-bb269c8d39"
    only_error(
        _approve(superseded, "check", "李审核"),
        2,
        f"{superseded} was superseded by a later run of 2024-03; approve the accepted run",
    )
    march = april.parent / "2024-03"  # released before approvals were recorded: it stays released
    only_error(
        _approve(march, "check", "李审核"),
        2,
        "jiaxiang-2024-03-2-53072cfd7f was released to the bank already; there is nothing left to approve",
    )
    only_error(
        _approve(tmp_path, "check", "李审核"),
        2,
        f"{tmp_path} is not a run folder (no manifest.json); name an accepted run, e.g. runs/jiaxiang/2024-05",
    )
    assert not _approved_dir(april).exists()


def test_an_edited_approval_or_a_bank_file_changed_after_it_stops_the_release(april: Path) -> None:
    assert _approve(april, "check", "李审核").exit_code == 0
    assert _approve(april, "approve", "张局长").exit_code == 0
    record = _approved_dir(april) / f"{RUN_ID}.approve.json"
    text = record.read_text(encoding="utf-8")
    # an approval of other bank files than the run's own
    record.chmod(0o644)
    first = json.loads(text)["bank_files"][0]["sha256"]
    record.write_text(text.replace(first, "0" * 64), encoding="utf-8")
    only_error(
        _release(april),
        9,
        f"{record}: the bank files it approves are not the run's own (manifest.json); it records who approved "
        f"the bank files of {RUN_ID}: restore it from a backup (never delete it), then try again",
    )
    # an approval turned into a check
    record.write_text(text.replace('"step": "approve"', '"step": "check"'), encoding="utf-8")
    only_error(
        _release(april),
        9,
        f"{record}: it records 'run_approval' 'check' of {RUN_ID}, and it is kept as the approve of {RUN_ID}; "
        f"it records who approved the bank files of {RUN_ID}: restore it from a backup (never delete it), then "
        "try again",
    )
    record.write_text(text, encoding="utf-8")
    # a bank file changed on disk after it was approved
    bank = april / "bank" / "bank_01_中国农业银行嘉祥县支行.csv"
    bank.chmod(0o644)
    bank.write_bytes(bank.read_bytes() + b"\n")
    only_error(
        _release(april),
        2,
        f"{bank} differs from its manifest checksum; run subsidy verify {april}",
    )
    assert not (april.parent / "released" / f"{RUN_ID}.json").exists()


def _status(tmp_path: Path) -> dict[str, dict]:
    """subsidy status --json for the county's runs under tmp_path, each row by its period."""
    result = cli(
        "status",
        "--county",
        "jiaxiang",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--config-dir",
        str(CONFIG),
        "--json",
    )
    assert result.exit_code == 0, result.output
    return {r["period"]: r for r in json.loads(result.stdout)["runs"]}


def test_status_shows_each_runs_next_step_until_its_returned_money_is_handed_back(
    april: Path, tmp_path: Path
) -> None:
    rows = _status(tmp_path)
    # the stored months and the March supplement, in order
    assert list(rows) == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-03-s1", "2024-04"]
    march = rows["2024-03"]  # released before approvals were recorded
    assert (march["checked_by"], march["approved_by"], march["released_by"]) == (None, None, "王会计")
    assert march["next"].startswith("the banks' answers (0 of 4 bank files answered)")
    row = rows["2024-04"]
    assert (row["paid_amount"], row["bank_files"], row["answered_files"], row["to_hand_back"]) == (
        "54410.00",
        4,
        0,
        "0.00",
    )
    assert row["next"] == f"审核: subsidy approve {april} --step check --by NAME"
    assert _approve(april, "check", "李审核").exit_code == 0
    assert _status(tmp_path)["2024-04"]["next"] == (
        f"审批 by a second person: subsidy approve {april} --step approve --by NAME"
    )
    assert _approve(april, "approve", "张局长").exit_code == 0
    assert _status(tmp_path)["2024-04"]["next"] == f"release: subsidy release {april} --by NAME"
    assert _release(april).exit_code == 0
    # the four banks answer: bank_01's 48 lines all fail (12,345.00 comes back), the others are paid
    for index, rate in enumerate((1.0, 0.0, 0.0)):
        written = synth_returns(april, rate, 3, tmp_path / f"answers-{index}")[index]
        import_returns(april, written.path, config_dir=CONFIG)
    row = _status(tmp_path)["2024-04"]
    assert (row["checked_by"], row["approved_by"], row["released_by"], row["answered_files"]) == (
        "李审核",
        "张局长",
        "王会计",
        3,
    )
    assert row["next"] == f"the banks' answers (3 of 4 bank files answered): subsidy returns {april} FILE"
    written = synth_returns(april, 0.0, 3, tmp_path / "answers-3")[3]
    import_returns(april, written.path, config_dir=CONFIG)
    row = _status(tmp_path)["2024-04"]
    assert (row["answered_files"], row["to_hand_back"]) == (4, "12345.00")
    assert row["next"].startswith("hand back 12345.00 yuan the answers returned: subsidy remitted")
    today = datetime.now(SHANGHAI).date().isoformat()
    assert cli("remitted", str(april), "--voucher", "缴1", "--on", today, "--by", "王会计").exit_code == 0
    row = _status(tmp_path)["2024-04"]
    assert (row["to_hand_back"], row["next"]) == ("0.00", "done")
    text = cli(
        "status", "--county", "jiaxiang", "--runs-dir", str(tmp_path / "runs"), "--config-dir", str(CONFIG)
    )
    assert text.stdout.splitlines()[0] == "jiaxiang: 7 accepted run(s), 6 with a step left"
    assert (
        "      审核 李审核 " in text.stdout
        and "answered 4 of 4  to hand back 0.00\n      next: done\n" in text.stdout
    )
    assert verify_run(april).identical  # status writes nothing, and no record changes the run


def test_a_run_named_by_dot_is_the_folder_it_is_and_a_copy_under_another_name_is_refused(
    april: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from inside a superseded run, `.` is that superseded run: refused, nothing written inside it
    superseded = april.parent / "superseded" / "2024-03" / "jiaxiang-2024-03-1-bb269c8d39"
    monkeypatch.chdir(superseded)
    only_error(
        _approve(Path("."), "check", "李审核"),
        2,
        ". was superseded by a later run of 2024-03; approve the accepted run",
    )
    only_error(_release(Path(".")), 2, ". was superseded by a later run of 2024-03; release the accepted run")
    assert not (superseded / "approved").exists() and not (superseded / "released").exists()
    # a copy of it beside the months, under another name: refused, naming where the run stands
    copy = april.parent / "old-march"
    shutil.copytree(superseded, copy)
    shutil.copytree(superseded, april.parent / "supplements" / "old")
    for run in (copy, april.parent / "supplements" / "old"):
        only_error(
            _approve(run, "check", "李审核"),
            2,
            f"{run} holds the run jiaxiang-2024-03-1-bb269c8d39, which stands in jiaxiang/2024-03 of the runs "
            "folder, not here; approve it there",
        )
    # from inside the accepted April, `.` approves and releases it: the records go to the county's folders
    monkeypatch.chdir(april)
    assert _approve(Path("."), "check", "李审核").exit_code == 0
    assert _approve(Path("."), "approve", "张局长").exit_code == 0
    assert _release(Path(".")).exit_code == 0
    assert (april.parent / "released" / f"{RUN_ID}.json").is_file()
    assert sorted(p.name for p in april.iterdir() if p.name in ("approved", "released")) == []
    assert verify_run(april).identical  # nothing was written inside the run


def test_a_supplement_is_approved_and_released_like_a_month(april: Path) -> None:
    supplement = april.parent / "supplements" / "2024-03-s1"
    assert _approve(supplement, "check", "李审核").exit_code == 0
    assert _approve(supplement, "approve", "张局长").exit_code == 0
    done = _release(supplement)
    assert done.exit_code == 0, done.output
    assert "(2024-03-s1, 80.00 yuan in 1 bank files)" in done.stdout


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("李审核", "张局长"), "it is approved by 张局长, who checked it too"),
        ((), "it is approved at 2000-01-01T00:00:00+08:00, before it was checked at"),
    ],
    ids=["one-person-both-steps", "approved-before-checked"],
)
def test_approval_records_edited_to_one_person_or_out_of_order_stop_the_release(
    april: Path, edit: tuple[str, ...], problem: str
) -> None:
    assert _approve(april, "check", "李审核").exit_code == 0
    assert _approve(april, "approve", "张局长").exit_code == 0
    folder = _approved_dir(april)
    if problem.startswith("it is approved by"):  # the check record made to name the approver
        record = folder / f"{RUN_ID}.check.json"
        record.chmod(0o644)
        record.write_text(record.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    else:  # the approval dated 2000-01-01, before the check
        record = folder / f"{RUN_ID}.approve.json"
        record.chmod(0o644)
        data = json.loads(record.read_text(encoding="utf-8"))
        data["at"] = "2000-01-01T00:00:00+08:00"
        record.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = _release(april)
    no_traceback(result)
    assert result.exit_code == 9 and f"{folder / f'{RUN_ID}.approve.json'}: {problem}" in result.stderr
    assert not (april.parent / "released" / f"{RUN_ID}.json").exists()


def test_names_that_differ_only_by_case_width_or_an_invisible_character_are_one_person(april: Path) -> None:
    assert _approve(april, "check", "Li Shen").exit_code == 0
    for same in ("li shen", "Ｌｉ Ｓｈｅｎ", "Li Shen\u200b"):  # case, full-width letters, a zero-width space
        only_error(
            _approve(april, "approve", same),
            2,
            f"Li Shen checked {RUN_ID}; its 审批 needs a second person, never the one who checked it",
        )
    only_error(
        _approve(april, "check", "\u200b "),
        2,
        '--by needs the name of the person who takes the 审核, e.g. --by "李科长"',
    )
