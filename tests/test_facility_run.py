"""The yearly facility run end to end: outputs, exit statuses, bank files, reproduction."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.outputs.bank import read_bank_file
from subsidy_batch.runs.verify import verify_run
from tests.helpers import ROOT

runner = CliRunner()


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "rosters" / "anqiu").mkdir(parents=True)
    shutil.copyfile(
        ROOT / "rosters" / "anqiu" / "facilities-2024.csv",
        tmp_path / "rosters" / "anqiu" / "facilities-2024.csv",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_clerk_runs_the_yearly_facility_subsidies_and_gets_bank_files(office: Path) -> None:
    result = runner.invoke(app, ["run-facilities", "2024", "--county", "anqiu"])
    assert result.exit_code == 0, result.output
    run_dir = office / "runs" / "anqiu" / "facilities-2024"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    t = manifest["totals"]
    # the sample's canteens: 20,000 + 20,000 + 30,000 + 30,000x9/12 + 40,000 + 40,000x7/12 = 155,833.33
    assert t["paid_amount"] == "155833.33" and t["paid_facilities"] == 6
    assert t["facilities_read"] == 19 == t["facilities_accepted"] + t["facilities_rejected"]
    assert t["facilities_ineligible"] == 8
    assert t["held_items_by_reason"]["standard_not_set"] == 5  # institutions and day-care: factor not set
    assert "total paid        155833.33 yuan" in result.stdout
    assert "rating factor     institution: not set" in result.stdout
    # the 5 held items have no standard, so no amount: "not set", never a silent 0.00
    assert "held amount       standard_not_set not set yuan (not paid, not in the total)" in result.stdout
    bank_total = Decimal(0)
    for path in sorted((run_dir / "bank").glob("*.csv")):
        control, details = read_bank_file(path, "gb18030")
        assert control["total"] == sum(Decimal(a) for a in details.get_column("amount").to_list())
        assert details.get_column("memo").unique().to_list() == ["2024 安丘市 养老服务机构运营补助"]
        bank_total += Decimal(str(control["total"]))
    assert (
        bank_total
        == Decimal("155833.33")
        == pl.read_parquet(run_dir / "payments.parquet").get_column("amount").sum()
    )
    assert pq.read_schema(run_dir / "ineligible.parquet").names[:8] == [
        "year",
        "county",
        "facility_id",
        "name",
        "kind",
        "benefit",
        "condition",
        "message",
    ]


def test_a_second_facility_run_of_the_same_year_is_refused_and_supersede_keeps_the_first(
    office: Path,
) -> None:
    assert runner.invoke(app, ["run-facilities", "2024", "--county", "anqiu", "--quiet"]).exit_code == 0
    again = runner.invoke(app, ["run-facilities", "2024", "--county", "anqiu"])
    assert again.exit_code == 5 and "already has an accepted run" in again.stderr
    replaced = runner.invoke(
        app, ["run-facilities", "2024", "--county", "anqiu", "--quiet", "--supersede", "ratings corrected"]
    )
    assert replaced.exit_code == 0
    assert len(list((office / "runs" / "anqiu" / "superseded" / "facilities-2024").glob("*.json"))) == 1


def test_a_year_outside_the_policy_exits_6_and_a_county_without_facility_rules_exits_4(office: Path) -> None:
    outside = runner.invoke(app, ["run-facilities", "2027", "--county", "anqiu"])
    assert outside.exit_code == 6 and "2023-03 to 2026-02" in outside.stderr
    other = runner.invoke(app, ["run-facilities", "2024", "--county", "jiaxiang"])
    assert other.exit_code == 4 and "no facility_benefits" in other.stderr


def test_a_facility_run_reproduces_byte_for_byte(office: Path) -> None:
    assert runner.invoke(app, ["run-facilities", "2024", "--county", "anqiu", "--quiet"]).exit_code == 0
    verdict = verify_run(office / "runs" / "anqiu" / "facilities-2024")
    assert verdict.identical, verdict.differing
    assert verdict.files >= 10
