"""The synthetic roster generator: valid, distinct IDs at any size, realistic content, reproducible."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.period import Period
from subsidy_batch.roster import idnumber
from subsidy_batch.synth import PLACES, SLOTS, _unique_sequence, roster


def test_people_beyond_500_per_area_birth_date_and_sex_move_to_further_codes_and_stay_distinct() -> None:
    from datetime import date

    crowd = pl.DataFrame({"area": ["370829"] * 1700, "birth": [date(1944, 2, 29)] * 1700, "sex": [1] * 1700})
    out = _unique_sequence(crowd, PLACES["jiaxiang"])
    assert out.get_column("first17").n_unique() == 1700
    assert out.filter(pl.col("area") == "370829").height == SLOTS
    assert (out.get_column("seq") % 2 == 1).all()  # odd sequence numbers for men
    assert out.get_column("area").n_unique() == 4  # 500 + 500 + 500 + 200


def test_a_roster_has_valid_distinct_ids_and_is_the_same_for_the_same_seed() -> None:
    a = roster("youyi", 20_000, Period(2024, 5), seed=3)
    b = roster("youyi", 20_000, Period(2024, 5), seed=3)
    assert a.equals(b)
    ids = a.get_column("公民身份号码")
    assert ids.n_unique() == a.height
    assert a.select(idnumber.check_character_ok(pl.col("公民身份号码")).all()).item()
    assert set(a.get_column("乡镇（街道）").unique()) <= set(PLACES["youyi"].townships)
    assert a.filter(pl.col("经济状况") == "低保").height > 1000  # about 6%


def test_the_synth_command_writes_parquet_or_csv(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.parquet"
    result = runner.invoke(
        app,
        [
            "synth",
            "--county",
            "anqiu",
            "--people",
            "500",
            "--period",
            "2024-05",
            "--out",
            str(out),
            "--broken",
        ],
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 501  # one person duplicated by --broken
    bad = runner.invoke(
        app, ["synth", "--county", "nowhere", "--people", "5", "--period", "2024-05", "--out", str(out)]
    )
    assert bad.exit_code == 2


def test_benefit_columns_add_the_issue_18_columns_and_leave_every_other_column_as_it_was() -> None:
    plain = roster("jiaxiang", 5_000, Period(2024, 5), seed=5)
    full = roster("jiaxiang", 5_000, Period(2024, 5), seed=5, benefit_columns=True)
    new = ["供养方式", "残疾等级", "残疾类别", "是否需要长期照护"]
    assert full.columns == plain.columns + new
    assert full.select(plain.columns).equals(plain)  # the stored runs' rosters stay byte-identical
    # only 特困 people have a support mode; a grade always comes with a category and a long-term-care answer
    assert full.filter((pl.col("供养方式") != "") & (pl.col("经济状况") != "特困")).height == 0
    certified = full.filter(pl.col("残疾等级") != "")
    assert certified.height > 100
    assert (certified.get_column("残疾类别") != "").all()
    assert set(certified.get_column("是否需要长期照护")) == {"是", "否"}
    assert full.filter((pl.col("残疾等级") == "") & (pl.col("残疾类别") != "")).height == 0
