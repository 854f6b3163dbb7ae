"""The month's death list (run --deaths FILE): read and checked like a roster, applied before paying, kept
in the run, and reported person by person in deaths.parquet.

Hand-made Jiaxiang months in a private folder. 甲 (born 1950-03-03, 低保) is 73-74 in 2024: the Shandong
living subsidy pays 80.00 a month and nothing else. Jiaxiang pays the month of death (pay_death_month):
a death on 2024-05-01 or later still pays May; a death on 2024-04-30 or earlier stops May.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import EXIT_CODES, app
from subsidy_batch.errors import DeathListError
from subsidy_batch.ledger.deaths import OUTCOMES
from subsidy_batch.period import Period
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT, make_id, person

JIA_ID = make_id("1950-03-03", seq=11)
JIA = person("1950-03-03", income="dibao", name="甲") | {"id_number": JIA_ID}
YI_ID = make_id("1951-06-07", seq=12)
YI = person("1951-06-07", income="dibao", name="乙") | {"id_number": YI_ID}  # 72-73, 低保: 80.00 too
BING_ID = make_id("1952-08-09", seq=13)
BING = person("1952-08-09", income="dibao", name="丙") | {"id_number": BING_ID}  # 71-72, 低保: 80.00
HEADER = ("身份证号码", "姓名", "死亡日期", "来源")


def _office(tmp_path: Path) -> Path:
    office = tmp_path / "office"
    shutil.copytree(CONFIG, office / "config")
    (office / "rosters" / "jiaxiang").mkdir(parents=True)
    return office


def _roster(office: Path, month: str, rows: list[dict[str, str]]) -> Path:
    path = office / "rosters" / "jiaxiang" / f"{month}.csv"
    pl.DataFrame(rows, schema={c: pl.String for c in rows[0]}).write_csv(path)
    return path


def _deaths(office: Path, rows: list[tuple[str, str, str, str]], name: str = "死亡名单.csv") -> Path:
    path = office / name
    frame = pl.DataFrame(
        [dict(zip(HEADER, r, strict=True)) for r in rows], schema=dict.fromkeys(HEADER, pl.String)
    )
    frame.write_csv(path)
    return path


def _run(office: Path, month: str, deaths: Path | None = None, progress=lambda _: None):
    request = RunRequest(
        Period.parse(month),
        "jiaxiang",
        None,
        office / "runs",
        office / "config",
        office / "rosters",
        deaths=deaths,
    )
    return run_month(request, progress)


def _listed(run_dir: Path) -> dict[str, dict]:
    return {r["name"]: r for r in pl.read_parquet(run_dir / "deaths.parquet").to_dicts()}


def _paid(run_dir: Path, name: str) -> list[tuple]:
    items = pl.read_parquet(run_dir / "line_items.parquet").filter(
        pl.col("name") == name, pl.col("status") == "paid"
    )
    return items.select("benefit", "for_period", "amount").rows()


def _to_15(id18: str) -> str:
    """The first-generation form of an ID born in the 1900s: no century, no check character."""
    return id18[:6] + id18[8:17]


def test_a_person_the_roster_has_alive_stops_from_the_list_date_and_the_stopped_amount_is_shown(
    tmp_path: Path,
) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-04", [JIA, YI])
    _run(office, "2024-04")
    _roster(office, "2024-05", [JIA, YI])  # the roster still has 甲 alive
    listed = _deaths(office, [(JIA_ID, "甲", "2024-04-20", "殡葬")])
    may = _run(office, "2024-05", listed)
    # 甲 died in April: May is not paid. Without the list it would have paid 80.00; 乙 is paid 80.00
    assert _paid(may.run_dir, "甲") == []
    assert _paid(may.run_dir, "乙") == [("low_income_living", "2024-05", Decimal("80.00"))]
    assert may.manifest["totals"]["paid_amount"] == "80.00"
    row = _listed(may.run_dir)["甲"]
    assert (row["outcome"], row["conflict"], row["stops_this_month"]) == ("roster_alive", True, True)
    assert (str(row["list_death_date"]), row["roster_death_date"], str(row["death_date_used"])) == (
        "2024-04-20",
        None,
        "2024-04-20",
    )
    assert row["stopped_amount"] == Decimal("80.00") and row["sources"] == "殡葬 2024-04-20"
    assert row["name_matches"] is True and row["recovery_amount"] is None  # April was the death month: paid
    # the change list says why the payment stopped
    changes = pl.read_parquet(may.run_dir / "changes.parquet").filter(pl.col("name") == "甲")
    assert changes.select("change", "reason", "detail").rows() == [("stopped", "died", "died on 2024-04-20")]
    deaths = may.manifest["totals"]["deaths"]
    assert deaths["stop_this_month"] == 1 and deaths["stopped_amount"] == "80.00"
    assert deaths["stop_with_payment"] == 1
    assert deaths["by_outcome"] == dict.fromkeys(OUTCOMES, 0) | {"roster_alive": 1}


def test_conflicting_dates_use_the_earlier_one_in_both_directions(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(
        office,
        "2024-05",
        [
            JIA | {"death_date": "2024-05-10"},  # the roster says May 10, the list April 20: April 20 is used
            YI | {"death_date": "2024-04-20"},  # the roster says April 20, the list May 10: the roster's kept
            BING | {"death_date": "2024-05-03"},  # both say May 3
        ],
    )
    listed = _deaths(
        office,
        [
            (JIA_ID, "甲", "2024-04-20", "公安"),
            (YI_ID, "乙", "2024-05-10", "殡葬"),
            (BING_ID, "丙", "2024-05-03", "卫健"),
        ],
    )
    may = _run(office, "2024-05", listed)
    rows = _listed(may.run_dir)
    jia, yi, bing = rows["甲"], rows["乙"], rows["丙"]
    assert (jia["outcome"], str(jia["death_date_used"]), jia["stops_this_month"]) == (
        "roster_later",
        "2024-04-20",
        True,
    )
    assert jia["stopped_amount"] == Decimal(
        "80.00"
    )  # the roster's May 10 would have paid May (the death month)
    assert (yi["outcome"], str(yi["death_date_used"]), yi["stops_this_month"]) == (
        "roster_earlier",
        "2024-04-20",
        False,
    )
    assert yi["stopped_amount"] is None  # the roster had already stopped May
    assert (bing["outcome"], bing["conflict"], bing["stops_this_month"]) == ("confirmed", False, False)
    # paid: only 丙, who died in May (the month of death is paid): 80.00
    assert may.manifest["totals"]["paid_amount"] == "80.00"
    assert _paid(may.run_dir, "丙") == [("low_income_living", "2024-05", Decimal("80.00"))]
    assert may.manifest["totals"]["deaths"]["conflicts"] == 2


def test_the_death_month_is_paid_from_its_first_day_and_the_day_before_stops_it(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA, YI, BING])
    listed = _deaths(
        office,
        [
            (JIA_ID, "甲", "2024-04-30", "殡葬"),
            (YI_ID, "乙", "2024-05-01", "殡葬"),
            (BING_ID, "丙", "2024-05-02", "殡葬"),
        ],
    )
    may = _run(office, "2024-05", listed)
    # 2024-04-30: April was the death month, May is not paid. 2024-05-01 and 2024-05-02: May is the
    # death month, paid (80.00 each); June will stop them
    assert _paid(may.run_dir, "甲") == []
    assert _paid(may.run_dir, "乙") == [("low_income_living", "2024-05", Decimal("80.00"))]
    assert _paid(may.run_dir, "丙") == [("low_income_living", "2024-05", Decimal("80.00"))]
    rows = _listed(may.run_dir)
    assert [rows[n]["stops_this_month"] for n in ("甲", "乙", "丙")] == [True, False, False]
    assert may.manifest["totals"]["paid_amount"] == "160.00"


def test_a_death_before_months_already_paid_recovers_each_month_with_the_run_that_paid_it(
    tmp_path: Path,
) -> None:
    office = _office(tmp_path)
    paid_by = {}
    for month in ("2024-01", "2024-02", "2024-03"):
        _roster(office, month, [JIA, YI])
        paid_by[month] = _run(office, month).manifest["run_id"]
    _roster(office, "2024-04", [JIA, YI])  # nobody told the office
    listed = _deaths(office, [(JIA_ID, "甲", "2024-01-20", "公安")])
    april = _run(office, "2024-04", listed)
    # died 2024-01-20: January (the death month) was due; February and March were paid after death,
    # 80.00 each = 160.00 to recover; April is not paid
    owed = pl.read_parquet(april.run_dir / "recoveries.parquet")
    assert owed.select("name", "for_period", "amount", "paid_by_run", "status").rows() == [
        ("甲", "2024-02", Decimal("80.00"), paid_by["2024-02"], "outstanding"),
        ("甲", "2024-03", Decimal("80.00"), paid_by["2024-03"], "outstanding"),
    ]
    assert _paid(april.run_dir, "甲") == []
    row = _listed(april.run_dir)["甲"]
    assert (row["recovery_amount"], row["recovery_months"], row["stopped_amount"]) == (
        Decimal("160.00"),
        2,
        Decimal("80.00"),
    )
    assert april.manifest["totals"]["recoveries_amount"] == "160.00"
    assert april.manifest["totals"]["deaths"]["recovery_amount"] == "160.00"


def test_a_death_on_the_list_but_not_on_the_roster_is_reported_and_still_recovered(tmp_path: Path) -> None:
    office = _office(tmp_path)
    paid_by = {}
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [JIA, YI])
        paid_by[month] = _run(office, month).manifest["run_id"]
    _roster(office, "2024-03", [YI])  # 甲 has left the roster without a death date
    stranger = make_id("1940-02-02", area="370830", seq=14)  # never on any roster of the county
    listed = _deaths(office, [(JIA_ID, "甲", "2024-01-15", "卫健"), (stranger, "丁", "2024-02-10", "公安")])
    march = _run(office, "2024-03", listed)
    rows = _listed(march.run_dir)
    assert rows["甲"]["outcome"] == rows["丁"]["outcome"] == "not_on_roster"
    assert rows["甲"]["roster_name"] is None and rows["甲"]["stops_this_month"] is False
    # 甲 died 2024-01-15: February was paid after death by the 2024-02 run: 80.00 to recover
    owed = pl.read_parquet(march.run_dir / "recoveries.parquet")
    assert owed.select("id_number", "for_period", "amount", "paid_by_run").rows() == [
        (JIA_ID, "2024-02", Decimal("80.00"), paid_by["2024-02"])
    ]
    assert rows["甲"]["recovery_amount"] == Decimal("80.00") and rows["丁"]["recovery_amount"] is None
    # carried forward by the next run even without a death list
    _roster(office, "2024-04", [YI])
    april = _run(office, "2024-04")
    assert pl.read_parquet(april.run_dir / "recoveries.parquet").get_column("for_period").to_list() == [
        "2024-02"
    ]
    assert not (april.run_dir / "deaths.parquet").exists()


def test_a_15_digit_id_on_the_list_matches_the_18_digit_roster_id_and_two_sources_are_one_death(
    tmp_path: Path,
) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA, YI])
    old = _to_15(JIA_ID)
    assert len(old) == 15
    listed = _deaths(office, [(old, "甲", "2024/4/22", "公安"), (JIA_ID, "甲", "2024-04-18", "殡葬")])
    may = _run(office, "2024-05", listed)
    (row,) = pl.read_parquet(may.run_dir / "deaths.parquet").to_dicts()
    assert row["id_number"] == JIA_ID and row["id_listed"] == f"{old}; {JIA_ID}"
    # one death at the earlier date (殡葬 April 18), both sources kept with their dates
    assert str(row["death_date_used"]) == "2024-04-18"
    assert row["sources"] == "公安 2024-04-22; 殡葬 2024-04-18"
    assert (row["list_rows"], row["list_row_count"], row["outcome"]) == ("1; 2", 2, "roster_alive")
    assert _paid(may.run_dir, "甲") == []
    deaths = may.manifest["totals"]["deaths"]
    assert (deaths["rows_read"], deaths["rows_applied"], deaths["rows_rejected"], deaths["people"]) == (
        2,
        2,
        0,
        1,
    )


def test_a_retired_area_code_in_an_old_15_digit_id_still_matches_and_never_decides_hukou(
    tmp_path: Path,
) -> None:
    office = _office(tmp_path)
    # 戊 was registered under 370802 (济宁市中区, retired in 2013) and lives in Jiaxiang: 户籍 370829 on the
    # roster. 低保, born 1941-07-07: 82-83 in 2024, high-age 80-89 is not set (held); living 80-89: 100.00
    wu_id = make_id("1941-07-07", area="370802", seq=15)
    wu = person("1941-07-07", income="dibao", name="戊", area="370802") | {"id_number": wu_id}
    assert wu["hukou_code"] == "370829"
    _roster(office, "2024-05", [wu, JIA])
    listed = _deaths(office, [(_to_15(wu_id), "戊", "2024-04-02", "公安")])
    may = _run(office, "2024-05", listed)
    (row,) = pl.read_parquet(may.run_dir / "deaths.parquet").to_dicts()
    assert (row["id_number"], row["outcome"], row["stops_this_month"]) == (wu_id, "roster_alive", True)
    assert row["stopped_amount"] == Decimal("100.00")
    assert _paid(may.run_dir, "戊") == []


def test_bad_rows_are_rejected_with_every_reason_while_the_others_apply(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA, YI, BING])
    typo = YI_ID[:-1] + ("0" if YI_ID[-1] != "0" else "1")  # a wrong check character
    listed = _deaths(
        office,
        [
            (JIA_ID, "甲", "2024-04-20", "殡葬"),  # row 1: applied
            (typo, "乙", "2024-04-20", "公安"),  # row 2: bad ID
            (BING_ID, "", "2024-06-03", "公安"),  # row 3: no name, and after the end of May
            (BING_ID, "丙", "", "殡葬"),  # row 4: no date
            (BING_ID, "丙", "1950-01-01", "殡葬"),  # row 5: before 丙's birth (1952-08-09)
        ],
    )
    messages: list[str] = []
    may = _run(office, "2024-05", listed, progress=messages.append)
    rejected = pl.read_parquet(may.run_dir / "deaths_rejected.parquet")
    assert rejected.select("row", "column", "problem").rows() == [
        (2, "id_number", "id_check_character"),
        (3, "name", "missing_value"),
        (3, "death_date", "death_after_period"),
        (4, "death_date", "missing_value"),
        (5, "death_date", "death_before_birth"),
    ]
    assert set(rejected.get_column("source")) == {"死亡名单.csv"}
    bad_id = rejected.row(0, named=True)
    assert typo not in bad_id["message"] and f"{typo[:6]}********{typo[-4:]}" in bad_id["message"]
    # 5 rows in = 1 applied + 4 rejected; 乙 and 丙 are paid (80.00 each), 甲 is stopped
    deaths = may.manifest["totals"]["deaths"]
    assert (deaths["rows_read"], deaths["rows_applied"], deaths["rows_rejected"]) == (5, 1, 4)
    assert list(_listed(may.run_dir)) == ["甲"]
    assert may.manifest["totals"]["paid_amount"] == "160.00"
    # counts on the terminal, and never a full ID number
    line = next(m for m in messages if m.startswith("death list 死亡名单.csv"))
    assert (
        "5 rows, 1 applied, 4 rejected" in line
        and "1 stop this month (1 with a payment due: 80.00 yuan not paid)" in line
    )
    assert not any(i in m for m in messages for i in (JIA_ID, YI_ID, BING_ID, typo))


def test_a_header_only_death_list_is_a_month_without_deaths(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA])
    listed = office / "deaths.csv"
    listed.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    may = _run(office, "2024-05", listed)
    assert may.manifest["totals"]["deaths"]["rows_read"] == 0
    assert pl.read_parquet(may.run_dir / "deaths.parquet").height == 0
    assert _paid(may.run_dir, "甲") == [("low_income_living", "2024-05", Decimal("80.00"))]


def test_a_run_with_a_death_list_keeps_it_and_verify_reproduces_it(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-04", [JIA, YI])
    _run(office, "2024-04")
    _roster(office, "2024-05", [JIA, YI])
    listed = _deaths(office, [(_to_15(JIA_ID), "甲", "2024-03-20", "公安")])
    may = _run(office, "2024-05", listed)
    m = may.manifest
    assert [(i["role"], i["file"], i["original_name"]) for i in m["inputs"]][:2] == [
        ("roster", "input/roster.csv", "2024-05.csv"),
        ("deaths", "input/deaths.csv", "死亡名单.csv"),
    ]
    assert [s["file"] for s in m["schemas"]] == ["roster.yaml", "deaths.yaml"]
    assert (may.run_dir / "input" / "deaths.csv").read_bytes() == listed.read_bytes()
    assert (may.run_dir / "input" / "schemas" / "deaths.yaml").is_file()
    assert {"deaths.parquet", "deaths_rejected.parquet"} <= {o["file"] for o in m["outputs"]}
    verdict = verify_run(may.run_dir)
    assert verdict.identical, verdict.differing
    # 甲 died in March: April (paid by the 2024-04 run) is owed back, 80.00
    assert m["totals"]["recoveries_amount"] == "80.00"


def test_a_run_without_a_death_list_keeps_the_run_id_and_outputs_of_a_stored_run(tmp_path: Path) -> None:
    stored = ROOT / "runs" / "jiaxiang" / "2023-11"  # the county's first month: it read no prior run
    manifest = json.loads((stored / "manifest.json").read_text(encoding="utf-8"))
    office = tmp_path / "office"
    shutil.copytree(stored / "input" / "config", office / "config")
    (office / "rosters" / "jiaxiang").mkdir(parents=True)
    shutil.copyfile(stored / "input" / "roster.csv", office / "rosters" / "jiaxiang" / "2023-11.csv")
    request = RunRequest(
        Period.parse("2023-11"),
        "jiaxiang",
        None,
        office / "runs",
        office / "config",
        office / "rosters",
        schema_dir=stored / "input" / "schemas",
    )
    again = run_month(request)
    assert again.manifest["run_id"] == manifest["run_id"]
    assert [i["role"] for i in again.manifest["inputs"]] == ["roster"]
    assert "deaths" not in again.manifest["totals"] and "deaths" not in again.manifest["arguments"]
    for output in manifest["outputs"]:
        assert (again.run_dir / output["file"]).read_bytes() == (stored / output["file"]).read_bytes(), (
            output["file"]
        )
    assert not (again.run_dir / "deaths.parquet").exists()


def test_the_same_inputs_with_a_death_list_make_another_run_id(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA])
    without = _run(office, "2024-05").manifest["run_id"]
    shutil.rmtree(office / "runs")
    with_list = _run(office, "2024-05", _deaths(office, [(JIA_ID, "甲", "2024-05-20", "殡葬")])).manifest[
        "run_id"
    ]
    assert with_list != without and with_list.startswith("jiaxiang-2024-05-1-")


# --- the command line ---------------------------------------------------------------------------

runner = CliRunner()


def test_a_missing_death_list_is_one_sentence_and_exit_13(workdir: Path) -> None:
    result = runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang", "--deaths", "no-such-list.xlsx"])
    assert result.exit_code == EXIT_CODES[DeathListError] == 13
    assert result.stderr.startswith("error: death list file no-such-list.xlsx does not exist")
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    assert not (workdir / "runs" / "jiaxiang").exists()  # refused before any run folder or lock


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "死亡名单.csv",
            "身份证号码,姓名,来源\n",
            "death list 死亡名单.csv lacks required column(s) death_date (死亡日期)",
        ),
        ("死亡名单.xlsx", b"PK\x03\x04 not a workbook", "cannot read death list 死亡名单.xlsx"),
    ],
)
def test_an_unusable_death_list_is_one_sentence_and_exit_13(
    workdir: Path, file: str, content: str | bytes, message: str
) -> None:
    path = workdir / file
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang", "--deaths", str(path), "--json"])
    assert result.exit_code == 13, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert json.loads(result.stdout)["error"] == "death_list"
    assert not (workdir / "runs" / "jiaxiang" / "2024-05").exists()


def test_the_cli_run_with_a_death_list_prints_who_stops(workdir: Path) -> None:
    roster = pl.read_csv(workdir / "rosters" / "jiaxiang" / "2024-05.csv", infer_schema_length=0)
    valid = [
        i
        for i in roster.get_column("公民身份号码").drop_nulls()
        if i[:-1].isdigit()
        and make_id(f"{i[6:10]}-{i[10:12]}-{i[12:14]}", area=i[:6], seq=int(i[14:17])) == i
    ]
    someone = valid[0]
    listed = _deaths(workdir, [(someone, "某", "2024-04-01", "殡葬")])
    result = runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang", "--deaths", str(listed)])
    assert result.exit_code == 0, result.output
    assert "  death list      1 rows: 1 applied, 0 rejected (deaths_rejected.parquet)" in result.stdout
    assert "death list 死亡名单.csv: 1 rows, 1 applied, 0 rejected" in result.stderr
    assert someone not in result.output


def test_report_xlsx_shows_the_death_list_and_its_bad_rows_with_ids_masked(tmp_path: Path) -> None:
    import fastexcel

    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA, YI, BING])
    typo = YI_ID[:-1] + ("0" if YI_ID[-1] != "0" else "1")
    listed = _deaths(
        office, [(_to_15(JIA_ID), "甲", "2024-04-20", "殡葬"), (typo, "乙", "2024-04-20", "公安")]
    )
    may = _run(office, "2024-05", listed)
    book = fastexcel.read_excel(may.run_dir / "report.xlsx")
    assert {"死亡名单核对", "死亡名单问题行"} <= set(book.sheet_names)
    checked = book.load_sheet("死亡名单核对", header_row=1).to_polars()
    # one person (甲, listed with a 15-digit ID): the roster had no date, so 80.00 stops this month
    assert checked.height == 1
    row = checked.row(0, named=True)
    assert row["姓名"] == "甲" and row["核对结果"] == "roster_alive" and row["本月停发"] == "是"
    assert row["身份证号"] == f"{JIA_ID[:6]}********{JIA_ID[-4:]}"
    assert row["名单上的身份证号"] == f"{JIA_ID[:6]}********{JIA_ID[8:17][-4:]}"
    bad = book.load_sheet("死亡名单问题行", header_row=1).to_polars()
    assert bad.height == 1 and bad.item(0, "问题代码") == "id_check_character"
    text = "".join(
        str(v)
        for sheet in ("死亡名单核对", "死亡名单问题行")
        for v in book.load_sheet(sheet, header_row=1).to_polars().rows()
    )
    assert JIA_ID not in text and typo not in text and _to_15(JIA_ID) not in text


def test_a_death_a_list_showed_stays_a_death_in_later_months_run_without_a_list(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-03", [JIA, YI])
    march = _run(office, "2024-03").manifest["run_id"]  # pays 甲 80.00 for March
    _roster(office, "2024-04", [JIA, YI])
    listed = _deaths(office, [(JIA_ID, "甲", "2024-02-10", "殡葬")])
    april = _run(office, "2024-04", listed)  # died 2024-02-10: March was paid after death
    assert _paid(april.run_dir, "甲") == []
    # May and June: the roster still shows 甲 alive (nobody updated it) and no list is given
    for month in ("2024-05", "2024-06"):
        _roster(office, month, [JIA, YI])
        messages: list[str] = []
        later = _run(office, month, progress=messages.append)
        assert _paid(later.run_dir, "甲") == [], month  # never paid again
        assert _paid(later.run_dir, "乙") == [("low_income_living", month, Decimal("80.00"))]
        assert any(m.startswith("1 people on this roster were listed dead by an earlier") for m in messages)
        # the March payment is still owed back, once, naming the run that paid it
        owed = pl.read_parquet(later.run_dir / "recoveries.parquet")
        assert owed.select("id_number", "for_period", "amount", "paid_by_run").rows() == [
            (JIA_ID, "2024-03", Decimal("80.00"), march)
        ]
        assert later.manifest["totals"]["paid_amount"] == "80.00"  # 乙 alone
    # and the record still reproduces: the earlier death list reaches June through the prior runs
    assert verify_run(later.run_dir).identical


def test_an_id_typed_into_the_name_column_of_the_list_never_reaches_report_xlsx_in_full(
    tmp_path: Path,
) -> None:
    import zipfile

    office = _office(tmp_path)
    _roster(office, "2024-05", [JIA, YI])
    listed = _deaths(office, [(JIA_ID, JIA_ID, "2024-04-20", f"殡葬 {YI_ID}")])  # both typed by mistake
    may = _run(office, "2024-05", listed)
    with zipfile.ZipFile(may.run_dir / "report.xlsx") as book:
        xml = "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    assert JIA_ID not in xml and YI_ID not in xml
    assert f"{JIA_ID[:6]}********{JIA_ID[-4:]}" in xml


def test_a_listed_death_whose_items_are_all_held_stops_with_no_payment_due(tmp_path: Path) -> None:
    office = _office(tmp_path)
    no_account = JIA | {"bank_account": ""}  # 甲's 80.00 is held: no bank account
    _roster(office, "2024-05", [no_account, YI])
    listed = _deaths(office, [(JIA_ID, "甲", "2024-04-20", "殡葬"), (YI_ID, "乙", "2024-04-21", "公安")])
    messages: list[str] = []
    may = _run(office, "2024-05", listed, progress=messages.append)
    deaths = may.manifest["totals"]["deaths"]
    # two stop; only 乙 had a payment due (80.00); 甲's held item paid nothing anyway
    assert (deaths["stop_this_month"], deaths["stop_with_payment"], deaths["stopped_amount"]) == (
        2,
        1,
        "80.00",
    )
    line = next(m for m in messages if m.startswith("death list"))
    assert "2 stop this month (1 with a payment due: 80.00 yuan not paid)" in line
