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
from tests.helpers import CONFIG, ROOT, make_id, person

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
    # a runs folder of another name, given as --runs-dir (the office keeps its runs in 发放记录/)
    kept = tmp_path / "发放记录"
    refused = runner.invoke(app, [*args, "--runs-dir", str(kept), "--out", str(kept / "costing")])
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: --out {kept / 'costing'} is under a runs folder; a scenario never writes where accepted "
        "runs are\n"
    )
    assert not kept.exists()
    # a roster that cannot be read leaves no empty --out folder behind
    missing = runner.invoke(
        app, [*args[:4], "--roster", str(tmp_path / "nowhere.csv"), *args[6:], "--out", "costing-2"]
    )
    assert missing.exit_code != 0 and not (tmp_path / "costing-2").exists()


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


# --- scenario files that change rows, add rows, remove rows, and assume mortality (issue 16) -------------

# 戊 is 84 in May 2024 (born 1939-08-10) and 85 from September 2024 (counted at the end of August); in 红运镇
WU = person("1939-08-10", name="戊") | {"id_number": make_id("1939-08-10", seq=35), "township": "红运镇"}
TWO_BANDS = """
scenarios:
  - name: "80-84 at 60, 85-89 at 100"
    change:
      - row: high_age_allowance/county_80_89
        when: {age: {min: 85, max: 89}}
        amount: {monthly: "100.00"}
    add:
      - benefit: high_age_allowance
        id: scenario_80_84
        when: {hukou_code: {equals: "370829"}, age: {min: 80, max: 84}}
        amount: {monthly: "60.00"}
        effective: {from: "2024-01"}
"""


def _scenario_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def roster_with_wu(tmp_path: Path) -> Path:
    path = tmp_path / "scenario-roster-wu.csv"
    pl.DataFrame([*PEOPLE, WU]).write_csv(path)
    return path


def test_a_new_80_84_row_and_the_80_89_row_narrowed_to_85_89_cost_by_hand_with_someone_crossing_85(
    roster_with_wu: Path, tmp_path: Path
) -> None:
    from subsidy_batch.simulate import compare, load_scenarios, write_comparison

    result = compare(
        CONFIG,
        "jiaxiang",
        Period(2024, 5),
        roster_with_wu,
        load_scenarios(_scenario_file(tmp_path, TWO_BANDS)),
    )
    (summary,) = result["summary"]
    # May 2024: 甲 85, 乙 86, 丁 89 at 100.00 and 戊 84 at 60.00 = 360.00; 丙 is 79. As the rules stand: 0.
    # June 2024 .. May 2025: 甲 and 乙 12 x 100 = 2,400.00; 丙 80 from 2024-11: 7 x 60 = 420.00;
    # 丁 2024-06..12 7 x 100 = 700.00 (90 from 2025-01: not set, nothing); 戊 2024-06..08 at 84 3 x 60 = 180.00
    # and 85 from 2024-09: 9 x 100 = 900.00. Total 2,400 + 420 + 700 + 1,080 = 4,600.00
    assert (summary["month_scenario"], summary["next_12_months_scenario"]) == ("360.00", "4600.00")
    assert summary["next_12_months_baseline"] == "0.00" and summary["next_12_months_difference"] == "4600.00"
    assert summary["changes"] == [
        'change high_age_allowance/county_80_89: {when: {age: {min: 85, max: 89}}, amount: {monthly: "100.00"}}',
        'add high_age_allowance/scenario_80_84: {when: {hukou_code: {equals: "370829"}, age: {min: 80, max: 84}}, '
        'amount: {monthly: "60.00"}, effective: {from: "2024-01"}}',
    ]
    one = result["scenarios"]["80-84 at 60, 85-89 at 100"]
    months = {r["period"]: r["scenario"] for r in one["by_month"]}
    # August: 甲 乙 丁 100 + 戊 60 = 360; September: 戊 at 100 = 400; November: 丙 at 60 = 460; January: 丁 out = 360
    assert (months["2024-08"], months["2024-09"], months["2024-11"], months["2025-01"]) == (
        "360.00",
        "400.00",
        "460.00",
        "360.00",
    )
    # by 乡镇: 戊 alone in 红运镇 (60.00 now, 1,080.00 over the year); the rest in 纸坊镇 (300.00, 3,520.00)
    assert [(t["township"], t["scenarios"]["80-84 at 60, 85-89 at 100"]) for t in result["by_township"]] == [
        ("红运镇", {"month": "60.00", "next_12_months": "1080.00"}),
        ("纸坊镇", {"month": "300.00", "next_12_months": "3520.00"}),
    ]
    written = write_comparison(result, tmp_path / "out")
    page = written[2].read_text(encoding="utf-8")
    assert '<table id="scenario-by-township">' in page and "3520.00" in page and "http" not in page
    cells = pl.read_excel(written[1], sheet_name="汇总", has_header=False, infer_schema_length=0)
    rows = [[str(v) for v in row if v is not None] for row in cells.rows()]
    assert ["红运镇", "0", "0", "60", "1080"] in rows  # the 乡镇 table below the summary


def test_a_new_row_that_overlaps_a_county_row_is_refused_naming_the_file_the_scenario_and_both_rows(
    roster: Path, tmp_path: Path
) -> None:
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.simulate import compare, load_scenarios

    path = _scenario_file(
        tmp_path,
        """
scenarios:
  - name: "80-99 at 70"
    add:
      - {benefit: high_age_allowance, id: scenario_80_99, when: {age: {min: 80, max: 99}}, amount: {monthly: "70.00"}}
""",
    )
    with pytest.raises(ConfigError) as caught:
        compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))
    assert str(caught.value) == (
        f"{path}: scenario '80-99 at 70': rows {path}#high_age_allowance/scenario_80_99 and "
        "counties/jiaxiang.yaml#high_age_allowance/county_80_89 can both match one person in the same period "
        "(decision tables are UNIQUE); change or remove high_age_allowance/county_80_89 in the scenario too, "
        "or narrow high_age_allowance/scenario_80_99"
    )
    # removing the two rows it overlaps makes it a table again: 甲, 乙, 丁 now (3 x 70.00); over the year
    # 甲 乙 丁 12 months each and 丙 7 (80 from 2024-11): 43 x 70.00 = 3,010.00
    path.write_text(
        path.read_text(encoding="utf-8")
        + "    remove: [high_age_allowance/county_80_89, high_age_allowance/county_90_99]\n",
        encoding="utf-8",
    )
    (summary,) = compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))["summary"]
    assert (summary["month_scenario"], summary["next_12_months_scenario"]) == ("210.00", "3010.00")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        # conditions are checked against the roster schema, as a county row's are
        (
            '{benefit: high_age_allowance, id: x, when: {income: [dibao]}, amount: {monthly: "1.00"}}',
            r"add\[0\] \(scenario 'a'\) \(rule high_age_allowance/x\)\.when\.income: 'income' is not a roster column",
        ),
        (
            '{benefit: high_age_allowance, id: x, when: {income_status: [富裕]}, amount: {monthly: "1.00"}}',
            r"when\.income_status\.one_of\[0\]: '富裕' is not a value of income_status",
        ),
        # a scenario is not policy: it has no citation to give
        (
            '{benefit: high_age_allowance, id: x, amount: {monthly: "1.00"}, citation: "清单 12"}',
            r"add\[0\] \(scenario 'a'\): unknown key 'citation'",
        ),
        (
            "{benefit: high_age_allowance, id: x, when: {age: {min: 100}}, amount: {monthly: 1.5}}",
            r"amount\.monthly: expected an amount in yuan",
        ),
        # a row with no conditions would cost what paying everyone on the roster costs
        (
            '{benefit: high_age_allowance, id: x, amount: {monthly: "1.00"}}',
            r"add\[0\] \(scenario 'a'\) \(rule high_age_allowance/x\)\.when: names no condition, and a "
            r"rule with none would match everyone; write at least one test",
        ),
        (
            '{benefit: high_age_allowance, id: county_100_plus, when: {age: {min: 100}}, amount: {monthly: "1.00"}}',
            r"jiaxiang already has a row high_age_allowance/county_100_plus; change it with `change:`",
        ),
    ],
)
def test_an_added_row_is_checked_like_a_county_row(
    roster: Path, tmp_path: Path, row: str, message: str
) -> None:
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.simulate import compare, load_scenarios

    path = _scenario_file(tmp_path, f"scenarios:\n  - name: a\n    add:\n      - {row}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))
    assert str(caught.value).startswith(str(path))


def test_a_changed_row_must_exist_and_its_new_band_is_checked(roster: Path, tmp_path: Path) -> None:
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.simulate import compare, load_scenarios

    path = _scenario_file(
        tmp_path,
        "scenarios:\n  - name: a\n    change:\n      - {row: high_age_allowance/county_70_79, when: {age: {min: 70}}}\n",
    )
    with pytest.raises(
        ConfigError,
        match=r"change\[0\] \(scenario 'a'\): jiaxiang has no row high_age_allowance/county_70_79",
    ):
        compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))
    # 80-89 widened to 80-95 overlaps 90-99
    path.write_text(
        "scenarios:\n  - name: a\n    change:\n      - {row: high_age_allowance/county_80_89, when: {age: {max: 95}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"scenario 'a': rows counties/jiaxiang.yaml#high_age_allowance/county_80_89 and "
    ):
        compare(CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(path))
    path.write_text(
        "scenarios:\n  - name: a\n    change:\n      - {row: high_age_allowance/county_80_89}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="changes nothing"):
        load_scenarios(path)


MORTALITY = """
mortality:
  source: "test figures, hand-worked"
  rates:
    - {age: {min: 80, max: 89}, annual: "0.12"}
scenarios:
  - name: "80-89 at 100"
    set: {high_age_allowance/county_80_89: "100.00"}
"""


def test_with_mortality_one_person_at_100_yuan_costs_the_expected_1120_48_over_the_year(
    tmp_path: Path,
) -> None:
    from subsidy_batch.simulate import compare, load_scenarios, write_comparison

    roster = tmp_path / "one.csv"
    pl.DataFrame([PEOPLE[0]]).write_csv(roster)  # 甲: 85 all year, in the 80-89 band every month
    result = compare(
        CONFIG, "jiaxiang", Period(2024, 5), roster, load_scenarios(_scenario_file(tmp_path, MORTALITY))
    )
    (summary,) = result["summary"]
    # This month is as the roster is: 100.00. Month k of the next 12 is weighted by the chance of living to
    # it, s**k with s = 0.88 ** (1/12) = 0.98940375896468...: sum over k = 1..12 of 10,000 fen x s**k
    # = 10,000 x s x (1 - 0.88) / (1 - s) = 112,047.7070 fen, rounded half up once: 1,120.48 yuan
    assert (summary["month_scenario"], summary["next_12_months_scenario"]) == ("100.00", "1120.48")
    one = result["scenarios"]["80-89 at 100"]
    months = {r["period"]: (r["scenario_people"], r["scenario"]) for r in one["by_month"]}
    # 2024-06: 10,000 x s = 9,894.04 fen -> 98.94; 2025-05: 10,000 x s**12 = 10,000 x 0.88 -> 88.00
    assert months["2024-05"] == ("1.00", "100.00")
    assert months["2024-06"] == ("0.99", "98.94") and months["2025-05"] == ("0.88", "88.00")
    assert result["expected"] is True
    assert result["mortality"] == {
        "source": "test figures, hand-worked",
        "rates": [{"age": "80-89", "annual": "0.12"}],
    }
    assert (
        "EXPECTED" in result["assumptions"]
        and "ages 80-89: 0.12 (source: test figures, hand-worked)" in (result["assumptions"])
    )
    # the month itself is not weighted: people are counted
    assert one["by_township"][0]["scenario_people"] == 1
    written = write_comparison(result, tmp_path / "out")
    page = written[2].read_text(encoding="utf-8")
    assert "EXPECTED" in page and "未来12个月预期 expected next 12" in page and "1120.48" in page
    assumed = pl.read_excel(written[1], sheet_name="假设", has_header=False).to_series().to_list()
    assert "死亡率来源 mortality source: test figures, hand-worked" in assumed
    assert "年龄 age 80-89: 年死亡率 annual 0.12" in assumed


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            'rates: [{age: {min: 80}, annual: "0.05"}]',
            "mortality: missing 'source': a mortality assumption names",
        ),
        ('source: ""\n  rates: [{age: {min: 80}, annual: "0.05"}]', "missing 'source'"),
        (
            "source: s\n  rates: [{age: {min: 80}, annual: 0.05}]",
            r"annual: expected a number written as quoted text",
        ),
        (
            'source: s\n  rates: [{age: {min: 80}, annual: "1"}]',
            r"annual: an annual rate is from 0 up to \(not including\) 1",
        ),
        ('source: s\n  rates: [{age: {min: 80}, annual: "-0.1"}]', "an annual rate is from 0"),
        (
            'source: s\n  rates: [{age: {min: 80, max: 89}, annual: "0.05"}, {age: {min: 85}, annual: "0.1"}]',
            r"rates\[1\]: ages 85\+ overlap ages 80-89; each age has one rate",
        ),
        ("source: s\n  rates: []", "names no rate"),
    ],
)
def test_a_mortality_assumption_needs_its_source_and_rates_that_can_be(
    tmp_path: Path, block: str, message: str
) -> None:
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.simulate import load_scenarios

    path = _scenario_file(
        tmp_path,
        f'mortality:\n  {block}\nscenarios:\n  - {{name: a, set: {{high_age_allowance/county_80_89: "50.00"}}}}\n',
    )
    with pytest.raises(ConfigError, match=message):
        load_scenarios(path)


def test_the_example_scenario_file_is_not_policy_and_fits_jiaxiang(roster_with_wu: Path) -> None:
    from subsidy_batch.rules.config import load_county
    from subsidy_batch.simulate import compare, load_scenarios

    example = ROOT / "scenarios" / "jiaxiang-80-89.yaml"
    assert "config" not in example.relative_to(ROOT).parts  # `run` reads config/; a scenario is never there
    scenarios = load_scenarios(example)
    assert [s.name for s in scenarios] == [
        "80-89 at 50",
        "80-89 at 80",
        "80-89 at 100",
        "80-84 at 60, 85-89 at 100",
    ]
    jiaxiang = load_county(CONFIG, "jiaxiang")
    for scenario in scenarios:
        scenario.apply(jiaxiang)
    # 50 person-months aged 80-89 in the next 12 (甲 12, 乙 12, 丙 7, 丁 7, 戊 12) at 50 / 80 / 100 yuan; the
    # fourth is TWO_BANDS above, so it costs what was worked out by hand there: 4,600.00
    summary = compare(CONFIG, "jiaxiang", Period(2024, 5), roster_with_wu, scenarios)["summary"]
    assert [s["next_12_months_scenario"] for s in summary] == ["2500.00", "4000.00", "5000.00", "4600.00"]


def test_the_readme_scenario_file_example_loads_and_fits_jiaxiang(tmp_path: Path) -> None:
    from subsidy_batch.rules.config import load_county
    from subsidy_batch.simulate import load_scenarios

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nmortality:") + len("```yaml\n")
    path = _scenario_file(tmp_path, text[start : text.index("```", start)])
    scenarios = load_scenarios(path)
    jiaxiang = load_county(CONFIG, "jiaxiang")
    changed = scenarios[1].apply(jiaxiang)
    rows = {r.id: r for r in changed.rules if r.benefit == "high_age_allowance"}
    assert sorted(rows) == ["county_100_plus", "county_80_89", "scenario_80_84"]
    assert rows["county_80_89"].when.bounds("age") == (85, 89) and rows["county_80_89"].when.on("hukou_code")
    assert scenarios[0].mortality is not None and scenarios[0].mortality.rates[1].band == "90+"


def test_the_command_shows_each_scenario_by_township_for_the_month_and_the_year(
    roster_with_wu: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    path = _scenario_file(tmp_path, TWO_BANDS)
    args = ["simulate", "2024-05", "--county", "jiaxiang", "--roster", str(roster_with_wu)]
    result = runner.invoke(app, [*args, "--scenario", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("SCENARIOS (not policy)")
    lines = result.stdout.splitlines()
    assert "  by 乡镇, yuan this month / next 12 months:" in lines
    # 戊 alone in 红运镇: nothing as the rules stand; 60.00 this month, 1,080.00 over the next 12 under it
    assert "  红运镇        " + "        0.00 /        0.00" + "       60.00 /     1080.00" in lines
    # a scenario file's mistake is a config error (exit 4) naming the file
    path.write_text(TWO_BANDS.replace("county_80_89", "county_80_88"), encoding="utf-8")
    refused = runner.invoke(app, [*args, "--scenario", str(path)])
    assert refused.exit_code == 4 and str(path) in refused.stderr and "has no row" in refused.stderr
