"""subsidy simulate: what a standard would cost, for the month and the next 12, hand-worked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fastexcel
import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.errors import UsageError
from subsidy_batch.period import Period
from subsidy_batch.simulate import parse_set, simulate
from tests.helpers import CONFIG, make_id, person

runner = CliRunner()
# Jiaxiang counts age at the end of the previous month; its 80-89 and 90-99 standards are not set.
PEOPLE = [
    person("1939-01-05", name="甲") | {"id_number": make_id("1939-01-05", seq=31)},  # 85 all year
    person("1938-02-06", name="乙") | {"id_number": make_id("1938-02-06", seq=32)},  # 86 all year
    # 79 until 2024-10-31: in the 80-89 band from 2024-11
    person("1944-10-15", name="丙") | {"id_number": make_id("1944-10-15", seq=33)},
    # 89 until 2024-12-31: in the 90-99 band from 2025-01
    person("1934-12-20", name="丁") | {"id_number": make_id("1934-12-20", seq=34)},
]


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "scenario-roster.csv"
    pl.DataFrame(PEOPLE).write_csv(path)
    return path


def test_two_standards_cost_by_hand_with_people_crossing_80_and_90_inside_the_year(roster: Path) -> None:
    changes = [
        parse_set("high_age_allowance/county_80_89=50"),
        parse_set("high_age_allowance/county_90_99=100"),
    ]
    result = simulate(CONFIG, "jiaxiang", Period(2024, 5), roster, changes)
    (high,) = [r for r in result["by_benefit"] if r["benefit"] == "high_age_allowance"]
    # May 2024: 甲, 乙 and 丁 are 80-89 (3 x 50.00); 丙 is 79. As the rules stand: nothing (not set)
    assert (high["baseline"], high["scenario"], high["scenario_people"]) == ("0.00", "150.00", 3)
    # June 2024 .. May 2025: 甲 and 乙 12 x 50 = 1,200.00; 丙 2024-11..2025-05 = 7 x 50 = 350.00;
    # 丁 2024-06..2024-12 = 7 x 50 = 350.00 and 2025-01..05 = 5 x 100 = 500.00: 2,400.00
    assert result["next_12_months"] == {"baseline": "0.00", "scenario": "2400.00"}
    months = {r["period"]: r["scenario"] for r in result["by_month"]}
    assert months["2024-10"] == "150.00" and months["2024-11"] == "200.00" and months["2025-01"] == "250.00"
    assert "projection" in result["assumptions"] and "no deaths" in result["assumptions"]


def test_the_command_prints_the_table_and_writes_scenario_files_never_under_runs(
    roster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    args = [
        "simulate",
        "2024-05",
        "--county",
        "jiaxiang",
        "--roster",
        str(roster),
        "--set",
        "high_age_allowance/county_80_89=50",
    ]
    result = runner.invoke(app, [*args, "--out", "costing"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("SCENARIO (not policy)")
    assert "next 12 months: 0.00 yuan as the rules stand, 1900.00 yuan under the scenario" in result.stdout
    written = sorted(p.name for p in (tmp_path / "costing").iterdir())
    assert written == ["scenario-jiaxiang-2024-05.json", "scenario-jiaxiang-2024-05.xlsx"]
    book = fastexcel.read_excel(tmp_path / "costing" / "scenario-jiaxiang-2024-05.xlsx")
    assert book.sheet_names == ["按项目", "按乡镇", "按年龄段", "逐月预测", "假设"]
    saved = json.loads((tmp_path / "costing" / "scenario-jiaxiang-2024-05.json").read_text(encoding="utf-8"))
    assert saved["scenario"] == ["high_age_allowance/county_80_89=50.00"]
    assert not (tmp_path / "runs").exists()
    refused = runner.invoke(app, [*args, "--out", "runs/x"])
    assert refused.exit_code == 2 and "never writes where accepted runs are" in refused.stderr


def test_a_scenario_names_only_rows_the_county_has(roster: Path) -> None:
    with pytest.raises(
        UsageError,
        match="has no row high_age_allowance/county_70_79; it has high_age_allowance/county_100_plus",
    ):
        simulate(
            CONFIG, "jiaxiang", Period(2024, 5), roster, [parse_set("high_age_allowance/county_70_79=50")]
        )
    with pytest.raises(UsageError, match="is not BENEFIT/RULE=AMOUNT"):
        parse_set("high_age_allowance=50")
    with pytest.raises(UsageError, match="is not BENEFIT/RULE=AMOUNT"):
        parse_set("high_age_allowance/county_80_89=50.001")


def test_several_scenarios_side_by_side_from_a_file(roster: Path, tmp_path: Path) -> None:
    from subsidy_batch.simulate import compare, load_scenarios, write_comparison

    path = tmp_path / "options.yaml"
    path.write_text(
        "scenarios:\n"
        + "".join(
            f'  - name: "80-89 at {a}"\n    set: {{high_age_allowance/county_80_89: "{a}.00"}}\n'
            for a in (50, 80, 100)
        ),
        encoding="utf-8",
    )
    result = compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))
    # 38 person-months in the 80-89 band over the next 12 (甲 12, 乙 12, 丙 7, 丁 7), 3 people this month
    assert [
        (s["scenario"], s["month_scenario"], s["next_12_months_scenario"]) for s in result["summary"]
    ] == [
        ("80-89 at 50", "150.00", "1900.00"),
        ("80-89 at 80", "240.00", "3040.00"),
        ("80-89 at 100", "300.00", "3800.00"),
    ]
    written = write_comparison(result, tmp_path / "out")
    assert [p.name for p in written] == [
        "scenario-jiaxiang-2024-05-comparison.json",
        "scenario-jiaxiang-2024-05-comparison.xlsx",
        "scenario-jiaxiang-2024-05-comparison.html",
    ]
    assert fastexcel.read_excel(written[1]).sheet_names == ["汇总", "情景1", "情景2", "情景3", "假设"]
    page = written[2].read_text(encoding="utf-8")
    assert '<svg id="scenario-next-12-months"' in page and "not policy" in page and "http" not in page


def test_a_scenario_file_is_read_strictly(tmp_path: Path) -> None:
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.simulate import load_scenarios

    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenarios:\n  - name: a\n    set: {high_age_allowance/county_80_89: 50.5}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="quoted"):
        load_scenarios(path)
    path.write_text("scenarios:\n  - name: a\n    sets: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sets"):
        load_scenarios(path)
