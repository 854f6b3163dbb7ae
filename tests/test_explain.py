"""`subsidy explain`: a clerk answers "why did my mother get this?" from the stored run, in one command,
without the full ID number ever being shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.explain import PersonNotFoundError, explain
from tests.helpers import ROOT

RUN = ROOT / "runs" / "jiaxiang" / "2024-04"
runner = CliRunner()


def _item(benefit: str, status: str) -> dict:
    items = pl.read_parquet(RUN / "line_items.parquet")
    return items.filter((pl.col("benefit") == benefit) & (pl.col("status") == status)).row(0, named=True)


def test_a_paid_item_is_explained_by_the_row_that_matched_and_the_rows_that_did_not() -> None:
    # a 低保 elder aged 90-99 in Jiaxiang gets 200 yuan living subsidy: the 90-99 row matches, the others
    # fail on age
    item = _item("low_income_living", "paid")
    found = explain(RUN, item["id_number"])
    assert found["status"] == "accepted" and found["age"]["years"] == item["age"]
    assert (
        found["age"]["age_basis"] == "month_after_birthday" and found["age"]["reference_day"] == "2024-03-31"
    )
    living = next(b for b in found["benefits"] if b["benefit"] == "low_income_living")
    assert living["title"] == "经济困难老年人生活补贴"
    assert [r["rule"] for r in living["rows"] if r["matched"]] == [item["rule"]]
    assert living["item"]["amount"] == f"{item['amount']:.2f}" and living["item"]["status"] == "paid"
    assert living["item"]["citation"] == item["citation"] and living["item"]["kind"] == "regular"
    assert all(b["agrees_with_stored_run"] for b in found["benefits"])
    failed = [c for r in living["rows"] if not r["matched"] for c in r["conditions"] if not c["passed"]]
    assert failed and all(c["field"] == "age" and "年龄（周岁） is" in c["message"] for c in failed)


def test_a_held_item_shows_its_hold_reason() -> None:
    item = _item("high_age_allowance", "held")
    found = explain(RUN, item["id_number"].lower())  # a lower-case x or spaces are folded
    allowance = next(b for b in found["benefits"] if b["benefit"] == "high_age_allowance")
    assert allowance["item"]["hold_reason"] == "standard_not_set" and allowance["item"]["amount"] is None


def test_a_rejected_row_is_explained_by_its_problems() -> None:
    stored = pl.read_parquet(RUN / "rejected.parquet")
    wanted = stored.filter(pl.col("problem") == "duplicate_id").item(0, "id_number")
    rejected = stored.filter(pl.col("id_number") == wanted)
    found = explain(RUN, wanted)
    assert found["status"] == "rejected" and found["benefits"] == []
    assert (
        [p["problem"] for p in found["problems"]]
        == rejected.get_column("problem").to_list()
        == ["duplicate_id"] * 2
    )


def test_an_unknown_id_is_a_clear_error_without_the_full_number() -> None:
    with pytest.raises(
        PersonNotFoundError, match=r"ID 370829\*\*\*\*\*\*\*\*0000 is not in the roster of jiaxiang 2024-04"
    ):
        explain(RUN, "370829190001010000")


def test_the_command_explains_by_county_and_period_and_never_prints_the_full_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(RUN, tmp_path / "runs" / "jiaxiang" / "2024-04")
    monkeypatch.chdir(tmp_path)
    item = _item("low_income_living", "paid")
    result = runner.invoke(app, ["explain", item["id_number"], "--county", "嘉祥县", "--period", "2024-4"])
    assert result.exit_code == 0, result.output
    assert (
        "年龄 age:" in result.stdout
        and "依据 citation:" in result.stdout
        and "✓ 符合 matched" in result.stdout
    )
    assert f"{item['id_number'][:6]}********{item['id_number'][-4:]}" in result.stdout
    as_json = runner.invoke(app, ["explain", item["id_number"], "runs/jiaxiang/2024-04", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["benefits"]
    bank = (
        pl.read_parquet(RUN / "payments.parquet")
        .filter(pl.col("id_number") == item["id_number"])
        .item(0, "bank_account")
    )
    for output in (result.output, as_json.output):
        assert item["id_number"] not in output and bank not in output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["370829190001010000", "runs/jiaxiang/2024-04"],
            3,
            "error: ID 370829********0000 is not in the roster",
        ),
        (
            ["370829190001010000", "--county", "jiaxiang", "--period", "2024-09"],
            2,
            "error: no accepted run of jiaxiang 2024-09",
        ),
        (["370829190001010000", "--county", "jiaxiang"], 2, "error: give the month with --period"),
        (["370829190001010000", "config"], 2, "is not a run folder"),
    ],
)
def test_explain_errors_are_one_sentence_with_their_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(RUN, tmp_path / "runs" / "jiaxiang" / "2024-04")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["explain", *args])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "370829190001010000" not in result.output


@pytest.mark.parametrize("command", ["explain", "history"])
def test_explain_and_history_read_a_typed_id_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """An ID of the wrong length is exit 2 with the same sentence from both, before any run is read; a
    full-width ID with a space and a lower-case x is the person's own (both find the stored 2024-04 item)."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(RUN, tmp_path / "runs" / "jiaxiang" / "2024-04")
    monkeypatch.chdir(tmp_path)
    where = ["runs/jiaxiang/2024-04"] if command == "explain" else ["--county", "jiaxiang"]
    short = runner.invoke(app, [command, "37082919", *where])
    assert short.exit_code == 2, short.output
    assert short.output == "error: an ID number (公民身份号码) has 18 characters; 8 were given\n"
    known = pl.read_parquet(RUN / "line_items.parquet").get_column("id_number").sort()[0]
    wide = known[:6] + " " + known[6:17].translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})
    wide += known[17].lower() if known[17] == "X" else chr(0xFF10 + int(known[17]))
    found = runner.invoke(app, [command, wide, *where, "--json"])
    assert found.exit_code == 0, found.output
    assert f"{known[:6]}********{known[-4:]}" in found.output and known not in found.output
    if command == "history":  # a standard not set is said as such, never as "not set yuan"
        unset = pl.read_parquet(RUN / "line_items.parquet").filter(
            pl.col("hold_reason") == "standard_not_set"
        )
        shown = runner.invoke(app, [command, unset.get_column("id_number")[0], *where]).output
        assert " not set held (standard_not_set)" in shown and "not set yuan" not in shown


def test_what_if_explains_a_roster_that_was_not_run_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import make_id, person

    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    # 低保, born 1944-06-10: 79 on 2024-04-30 (Jiaxiang counts at the end of the previous month): 80.00
    row = person("1944-06-10", income="dibao", name="假设") | {"id_number": make_id("1944-06-10", seq=77)}
    pl.DataFrame([row]).write_csv(tmp_path / "new.csv")
    result = runner.invoke(
        app,
        [
            "explain",
            row["id_number"],
            "--county",
            "jiaxiang",
            "--period",
            "2024-05",
            "--roster",
            "new.csv",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["what_if"] is True and found["run_id"] is None
    living = next(b for b in found["benefits"] if b["benefit"] == "low_income_living")
    assert living["item"]["amount"] == "80.00" and living["item"]["status"] == "paid"
    assert found["age"]["years"] == 80 - 1  # 79 on the reference day
    assert not (tmp_path / "runs").exists()  # nothing written
    assert row["id_number"] not in result.stdout  # masked
    plain = runner.invoke(
        app,
        ["explain", row["id_number"], "--county", "jiaxiang", "--period", "2024-05", "--roster", "new.csv"],
    )
    assert "what if, nothing was paid or written" in plain.stdout
    missing = runner.invoke(
        app, ["explain", row["id_number"], "--county", "jiaxiang", "--period", "2024-05", "--roster", "x.csv"]
    )
    assert missing.exit_code == 3 and "does not exist" in missing.stderr


def test_explain_reads_a_supplementary_run() -> None:
    supplement = ROOT / "runs" / "jiaxiang" / "supplements" / "2024-03-s1"
    paid = (
        pl.read_parquet(supplement / "line_items.parquet")
        .filter(pl.col("status") == "paid")
        .row(0, named=True)
    )
    found = explain(supplement, paid["id_number"])
    item = next(b for b in found["benefits"] if b["benefit"] == paid["benefit"])["item"]
    assert item["amount"] == f"{paid['amount']:.2f}" and item["for_period"] == "2024-03"
