"""subsidy crosscheck: a hand-built 户籍 extract against a hand-built roster, every finding worked by hand.

Jiaxiang (370829) counts age from the month after the birthday (次月起): for period M a person's age is
the one reached on the last day of M-1. Its high-age allowance (county 户籍, 80-89 / 90-99 / 100+, in
force from 2024-01) is the one benefit a 户籍 extract can decide; every other needs a roster column the
extract does not hold (经济状况, 能力评估等级, ...).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import fastexcel
import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.crosscheck import Result, crosscheck
from subsidy_batch.period import Period
from tests.helpers import CONFIG, make_id, person

runner = CliRunner()
MAY = Period(2024, 5)
RULES = "counties/jiaxiang.yaml#high_age_allowance/"

# on the roster
ON_BOTH = make_id("1940-03-01", seq=11)  # 84, on both lists: no finding
LEFT = make_id("1945-01-01", seq=12)  # on the roster only
DEAD = make_id("1939-07-07", seq=13)  # on both; the extract says 死亡, the roster has no death date
OLD_ID = make_id("1938-06-06", seq=14)  # 18 digits on the roster, 15 on the extract
ELSEWHERE = make_id("1941-02-02", area="370812", seq=15)  # 户籍 370812 (兖州): no one of it on the extract
# only on the extract
EIGHTY = make_id("1944-04-15", seq=21)  # reached 80 on 2024-04-15
BIRTHDAY_IN_MAY = make_id("1944-05-20", seq=22)  # reaches 80 on 2024-05-20
AUGUST = make_id("1944-08-10", seq=23)  # reaches 80 on 2024-08-10
OTHER_HUKOU = make_id("1939-02-02", seq=24)  # ID area 370829, 户籍 370830: not Jiaxiang's
RETIRED_AREA = make_id("1934-01-01", area="372929", seq=25)  # a retired area code, Jiaxiang 户籍, 90
MOVED = make_id("1939-03-03", seq=26)  # 85, 迁出
WRONG_DATE = make_id("1944-06-10", seq=27)  # the extract says born 1944-03-10
BAD = make_id("1941-01-01", seq=28)[:17] + "0"  # a typo in the check character (its own is not 0)


def _fifteen(id18: str) -> str:
    """The first-generation form: area code, YYMMDD, sequence (no century, no check character)."""
    return id18[:6] + id18[8:17]


POPULATION = [
    # 公民身份号码, 姓名, 户籍区划代码, 出生日期, 乡镇, 人员状态
    (ON_BOTH, "甲", "370829", "1940-03-01", "纸坊镇", "正常"),
    (DEAD, "丙", "370829", "1939-07-07", "纸坊镇", "死亡"),
    (_fifteen(OLD_ID), "丁", "370829", "1938-06-06", "纸坊镇", ""),
    (EIGHTY, "戊", "370829", "1944-04-15", "红运镇", ""),
    (BIRTHDAY_IN_MAY, "己", "370829", "1944-05-20", "红运镇", "正常"),
    (AUGUST, "庚", "370829", "1944-08-10", "", ""),
    (OTHER_HUKOU, "辛", "370830", "1939-02-02", "红运镇", ""),
    (RETIRED_AREA, "壬", "370829", "1934-01-01", "万张镇", ""),
    (MOVED, "癸", "370829", "1939-03-03", "万张镇", "迁出"),
    (WRONG_DATE, "子", "370829", "1944-03-10", "万张镇", ""),
    (BAD, "丑", "370829", "1941-01-01", "万张镇", ""),
]
HEADERS = ["公民身份号码", "姓名", "户籍区划代码", "出生日期", "乡镇", "人员状态"]


@pytest.fixture
def lists(tmp_path: Path) -> tuple[Path, Path]:
    roster = tmp_path / "roster.csv"
    rows = [
        person("1940-03-01", name="甲") | {"id_number": ON_BOTH},
        person("1945-01-01", name="乙") | {"id_number": LEFT, "township": "梁宝寺镇"},
        person("1939-07-07", name="丙") | {"id_number": DEAD},
        person("1938-06-06", name="丁") | {"id_number": OLD_ID},
        person("1941-02-02", name="寅", hukou="370812") | {"id_number": ELSEWHERE},
    ]
    pl.DataFrame(rows).write_csv(roster)
    population = tmp_path / "户籍.csv"
    pl.DataFrame(POPULATION, schema=HEADERS, orient="row").write_csv(population)
    return population, roster


def _run(lists: tuple[Path, Path], config: Path = CONFIG, within: int = 3) -> Result:
    population, roster = lists
    return crosscheck(config, "jiaxiang", MAY, population, roster, within)


def _found(result: Result) -> list[tuple[str, str, str | None, str]]:
    return [
        (r["finding"], r["id_number"], r["rule"], r["month"]) for r in result.findings.iter_rows(named=True)
    ]


def test_a_newly_80_year_old_missing_from_the_roster_is_listed_from_the_month_after_the_birthday(
    lists: tuple[Path, Path],
) -> None:
    found = _found(_run(lists))
    # 戊, born 1944-04-15: 80 on 2024-04-30, the day Jiaxiang counts May's age on -> 80-89 row for May
    assert ("missing_from_roster", EIGHTY, RULES + "county_80_89", "2024-05") in found
    # 己, born 1944-05-20: 79 on 2024-04-30, so not for May; 80 on 2024-05-31 -> June
    assert ("turning_eligible", BIRTHDAY_IN_MAY, RULES + "county_80_89", "2024-06") in found
    assert not [f for f in found if f[1] == BIRTHDAY_IN_MAY and f[0] == "missing_from_roster"]


def test_with_the_birthday_month_basis_the_may_birthday_counts_in_may(
    lists: tuple[Path, Path], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    county = config / "counties" / "jiaxiang.yaml"
    text = county.read_text(encoding="utf-8")
    county.write_text(
        text.replace("age_basis: month_after_birthday", "age_basis: birthday_month"), encoding="utf-8"
    )
    found = _found(_run(lists, config))
    # 己, born 1944-05-20: 80 on 2024-05-31, the last day of May itself
    assert ("missing_from_roster", BIRTHDAY_IN_MAY, RULES + "county_80_89", "2024-05") in found
    # 庚, born 1944-08-10: 80 on 2024-08-31 -> August, within 3 months of May
    assert ("turning_eligible", AUGUST, RULES + "county_80_89", "2024-08") in found


def test_someone_turning_80_within_n_months_is_listed_with_the_month(lists: tuple[Path, Path]) -> None:
    # 庚, born 1944-08-10: 80 on 2024-08-31, so from September (次月起): outside May + 3 months (05..08) ...
    assert not [f for f in _found(_run(lists)) if f[1] == AUGUST]
    # ... and inside May + 4 months (05..09)
    result = _run(lists, within=4)
    assert ("turning_eligible", AUGUST, RULES + "county_80_89", "2024-09") in _found(result)
    row = result.findings.filter(pl.col("id_number") == AUGUST).row(0, named=True)
    assert row["age"] == 80 and row["township"] == "未知乡镇"  # no 乡镇 on the list, none on the roster
    assert result.summary["months_checked"] == ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09"]


def test_a_roster_person_missing_from_the_list_and_a_list_status_of_death(lists: tuple[Path, Path]) -> None:
    result = _run(lists)
    found = _found(result)
    assert ("not_on_population_list", LEFT, None, "2024-05") in found
    assert ("population_status", DEAD, None, "2024-05") in found
    dead = result.findings.filter(pl.col("id_number") == DEAD).row(0, named=True)
    assert dead["detail"].startswith("the population list says 死亡 (dead)")
    assert dead["population_row"] == 2 and dead["roster_row"] == 3
    left = result.findings.filter(pl.col("id_number") == LEFT).row(0, named=True)
    assert left["township"] == "梁宝寺镇" and left["roster_row"] == 2 and left["age"] == 79
    # 甲 is on both and 正常; 癸 (迁出) is not on the roster and is no candidate
    assert not [f for f in found if f[1] in (ON_BOTH, MOVED)]
    # 寅, of 户籍 370812, is another county's: the extract holds nobody of that code, so cannot tell
    assert not [f for f in found if f[1] == ELSEWHERE]
    assert result.summary["roster"]["not_compared_by_hukou_code"] == {"370812": 1}


def test_a_15_digit_id_on_the_list_matches_the_18_digit_roster_id(lists: tuple[Path, Path]) -> None:
    result = _run(lists)
    # 丁 is 85 and of Jiaxiang 户籍: were the IDs not matched he would be missing_from_roster, and the
    # roster's 丁 not_on_population_list
    assert not [f for f in _found(result) if f[1] == OLD_ID]
    assert result.summary["population_list"]["ids_converted_from_15_digits"] == 1


def test_hukou_is_the_lists_code_never_the_ids_area(lists: tuple[Path, Path]) -> None:
    found = _found(_run(lists))
    # 辛: ID starts 370829 but 户籍 370830 -> not Jiaxiang's allowance
    assert not [f for f in found if f[1] == OTHER_HUKOU]
    # 壬: ID of the retired area code 372929, 户籍 370829, born 1934-01-01: 90 on 2024-04-30 -> 90-99
    assert ("missing_from_roster", RETIRED_AREA, RULES + "county_90_99", "2024-05") in found


def test_the_lists_birth_date_is_used_and_a_mismatch_reported(lists: tuple[Path, Path]) -> None:
    result = _run(lists)
    # 子: the ID says 1944-06-10 (79 in May and June), the list 1944-03-10: 80 on 2024-04-30 -> May
    assert ("missing_from_roster", WRONG_DATE, RULES + "county_80_89", "2024-05") in _found(result)
    row = result.findings.filter(pl.col("id_number") == WRONG_DATE).row(0, named=True)
    assert (
        "differs from the date of birth in the ID number (born 1944-03 on the list, 1944-06 in the ID)"
        in row["detail"]
    )
    noted = result.problems.filter(pl.col("problem") == "birth_date_mismatch")
    assert noted.select("row", "outcome").rows() == [(10, "used")]
    assert result.summary["population_list"]["birth_date_mismatches"] == 1


def test_a_bad_row_is_rejected_with_its_reason_and_row_and_counted(lists: tuple[Path, Path]) -> None:
    result = _run(lists)
    rejected = result.problems.filter(pl.col("outcome") == "rejected")
    assert rejected.select("row", "file_row", "problem").rows() == [(11, 12, "id_check_character")]
    counts = result.summary["population_list"]
    assert counts["rows_read"] == 11 == counts["rows_used"] + counts["rows_rejected"]
    assert (counts["rows_used"], counts["rows_rejected"]) == (10, 1)


def test_each_benefit_says_whether_it_was_checked_and_why_not(lists: tuple[Path, Path]) -> None:
    benefits = {b["benefit"]: b for b in _run(lists).summary["benefits"]}
    assert benefits["high_age_allowance"]["status"] == "checked"
    assert benefits["low_income_living"]["status"] == "not_checked"
    assert benefits["low_income_living"]["reason"] == (
        "needs income_status (经济状况), which a 户籍 extract does not hold"
    )


def test_the_findings_in_order_and_counted(lists: tuple[Path, Path]) -> None:
    result = _run(lists)
    # by finding (the closed set's order), then by ID number: 3708291944-04.. before -06.., before 3729..
    assert [(r[0], r[1]) for r in _found(result)] == [
        ("missing_from_roster", EIGHTY),
        ("missing_from_roster", WRONG_DATE),
        ("missing_from_roster", RETIRED_AREA),
        ("turning_eligible", BIRTHDAY_IN_MAY),
        ("not_on_population_list", LEFT),
        ("population_status", DEAD),
    ]
    assert result.summary["findings"] == {
        "missing_from_roster": 3,  # 戊, 壬, 子
        "turning_eligible": 1,  # 己
        "not_on_population_list": 1,  # 乙
        "population_status": 1,  # 丙
    }


def _cli(tmp_path: Path, lists: tuple[Path, Path], *extra: str) -> object:
    population, roster = lists
    return runner.invoke(
        app,
        [
            "crosscheck",
            "2024-05",
            "--county",
            "jiaxiang",
            "--population",
            str(population),
            "--roster",
            str(roster),
            "--config-dir",
            str(CONFIG),
            *extra,
        ],
    )


def test_cli_writes_masked_workbooks_per_township_and_says_nothing_was_paid(
    tmp_path: Path, lists: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    result = _cli(tmp_path, lists, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "nothing was paid" in result.stdout
    assert "missing_from_roster               3" in result.stdout
    for full in (EIGHTY, LEFT, DEAD, WRONG_DATE):
        assert full not in result.stdout
    folder = out / "crosscheck-jiaxiang-2024-05"
    assert sorted(p.name for p in folder.iterdir()) == [
        "万张镇.xlsx",
        "梁宝寺镇.xlsx",
        "红运镇.xlsx",
        "纸坊镇.xlsx",
    ]
    sheet = fastexcel.read_excel(folder / "红运镇.xlsx").load_sheet(0, header_row=1).to_polars()
    # two people, then a blank row and the 核实人 / 日期 line the clerk signs
    assert sheet.height == 4 and sheet.row(3)[0] == "核实人"
    sheet = sheet.head(2)
    # 戊 (missing) and 己 (turning) are of 红运镇 by the list's 乡镇
    assert sheet.get_column("身份证号").to_list() == [
        EIGHTY[:6] + "********" + EIGHTY[-4:],
        BIRTHDAY_IN_MAY[:6] + "********" + BIRTHDAY_IN_MAY[-4:],
    ]
    assert sheet.get_column("出生年月").to_list() == ["1944-04", "1944-05"]  # the month only
    cells = " ".join(str(v) for row in sheet.rows() for v in row)
    assert EIGHTY not in cells and "1944-04-15" not in cells
    parquet = pl.read_parquet(out / "crosscheck-jiaxiang-2024-05.parquet")
    assert EIGHTY in parquet.get_column("id_number").to_list()  # full, for auditors
    summary = json.loads((out / "crosscheck-jiaxiang-2024-05.json").read_text(encoding="utf-8"))
    assert summary["findings"]["missing_from_roster"] == 3 and summary["paid"].startswith("nothing was paid")


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path, lists: tuple[Path, Path]) -> None:
    def digests(out: Path) -> dict[str, str]:
        assert _cli(tmp_path, lists, "--out", str(out)).exit_code == 0
        return {
            str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }

    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second and len(first) == 8  # 3 files, 4 乡镇 workbooks, the summary


def test_out_under_runs_is_refused_and_nothing_is_written(tmp_path: Path, lists: tuple[Path, Path]) -> None:
    result = _cli(tmp_path, lists, "--out", str(tmp_path / "runs" / "jiaxiang"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --out {tmp_path / 'runs' / 'jiaxiang'} is under a runs folder; a crosscheck never writes "
        "where accepted runs are\n"
    )
    assert not (tmp_path / "runs").exists()


def test_a_missing_population_file_is_one_sentence_without_a_traceback(
    tmp_path: Path, lists: tuple[Path, Path]
) -> None:
    _, roster = lists
    result = runner.invoke(
        app,
        [
            "crosscheck",
            "2024-05",
            "--county",
            "jiaxiang",
            "--population",
            str(tmp_path / "nope.csv"),
            "--roster",
            str(roster),
            "--config-dir",
            str(CONFIG),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: population list {tmp_path / 'nope.csv'} does not exist (or is not a file); pass --population "
        "FILE with the 户籍 extract (CSV, XLSX, XLS, ODS or Parquet)\n"
    )
    assert "Traceback" not in result.output
    assert json.loads(result.stdout)["error"] == "roster"
    assert not (tmp_path / "out").exists()  # nothing was written, so no empty --out folder is left


def test_the_bundled_sample_population_list_crosschecks(tmp_path: Path) -> None:
    root = CONFIG.parent
    result = crosscheck(
        CONFIG,
        "jiaxiang",
        MAY,
        root / "population" / "jiaxiang" / "2024-05.csv",
        root / "rosters" / "jiaxiang" / "2024-05.csv",
    )
    listed = result.summary["population_list"]
    assert listed["rows_read"] == listed["rows_used"] + listed["rows_rejected"] > 3000
    assert listed["ids_converted_from_15_digits"] > 0 and listed["birth_date_mismatches"] >= 1
    assert all(
        result.summary["findings"][f] > 0
        for f in ("missing_from_roster", "not_on_population_list", "population_status")
    )
