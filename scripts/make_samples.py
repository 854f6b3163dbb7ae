"""Regenerate the bundled synthetic sample rosters under rosters/<county>/ (fixed seeds, no real people).

Run: uv run python scripts/make_samples.py
Each county's 2024-05 roster uses a different file format so that every reader is exercised by the quick
start. Youyi also gets small rosters for 2024-03 and 2024-04, the inputs of stored runs under runs/ (see
scripts/regenerate_runs.py), and a corrected 2024-04 roster for the superseding run. Jiaxiang gets a
six-month sequence, 2023-11 .. 2024-04, of the same people as its 2024-05 sample (the ledger's stored
runs; the events are listed in sequence()).
Anqiu also gets a facility roster for 2024 (subsidy run-facilities 2024 --county anqiu).
Jiaxiang also gets a 户籍 population list for 2024-05, population/jiaxiang/2024-05.csv, of the people of its
2024-05 sample and POPULATION_EXTRA more (subsidy crosscheck 2024-05 --county jiaxiang --population ...).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from subsidy_batch.period import Period
from subsidy_batch.synth import facility_roster, population, roster, with_broken_rows

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 3000
HISTORY_PEOPLE = 600
FORMATS = {
    "jiaxiang": "csv-utf8-bom",
    "yanzhou": "xlsx",
    "youyi": "csv-gb18030",
    "anqiu": "parquet",
    "caoxian": "csv-utf8",
}
HISTORY = {"youyi": ("2024-03", "2024-04")}
POPULATION_EXTRA = 400  # people on Jiaxiang's sample population list who are not on its roster
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str, seq: int, area: str = "370829") -> str:
    """A valid 18-character ID (GB 11643 check character) for a birth date YYYY-MM-DD."""
    first17 = f"{area}{birth.replace('-', '')}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def person(birth: str, seq: int, name: str, **cells: str) -> dict[str, str]:
    """One roster row with Chinese headers: a 低保 elder of 纸坊镇 with a text account, unless told."""
    row = {
        "公民身份号码": make_id(birth, seq),
        "姓名": name,
        "户籍地区划代码": "370829",
        "乡镇（街道）": "纸坊镇",
        "城乡类别": "农村",
        "经济状况": "低保",
        "能力评估等级": "1",
        "计生特扶类别": "",
        "死亡日期": "",
        "开户银行": "嘉祥农村商业银行",
        "银行账号": f"62284900{seq:08d}",
        "享受起始月份": "",
    }
    return row | cells


SEQUENCE = ("2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04")


def sequence(base: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Jiaxiang's rosters for the six months before the quick start's 2024-05: the quick start's own
    people (base) month after month, with the events the ledger must get right (each is asserted in
    tests/test_ledger.py):
      - 周八十 turns 80 in 2024-01 (born 1944-01-15): the Shandong living subsidy goes from 80 to 100
        yuan in 2024-02 (Jiaxiang counts age at the end of the previous month): amount_changed;
      - 吴九十 turns 90 in 2024-02 (born 1934-02-20): 100 -> 200 yuan in 2024-03;
      - 郑迟报 dies on 2023-12-10; the rosters say so only from 2024-02: January was paid after the death
        month and is a recovery, carried forward once the person has left the roster (2024-03);
      - 王补发 is added in 2024-02 with 享受起始月份 2023-12: arrears for 2023-12 and 2024-01;
      - 冯无账 has no bank account in 2023-11 and 2023-12 (held), gets one in 2024-01: arrears for both;
      - 2024-03 is run, superseded with corrected accounts (2024-03-corrected.csv), released, then
        supplemented for 陈后批, approved late (2024-03-supplement.csv); 2024-04 pays them for April only;
      - 钱变更 leaves 低保 in 2024-04: stopped, no_longer_eligible (经济状况);
      - 2024-01 is the first month of Jiaxiang's high-age allowance (in force from 2024-01): new items.
    """
    base = base.with_columns(享受起始月份=pl.lit(""))
    eighty = person("1944-01-15", 901, "周八十")
    ninety = person("1934-02-20", 902, "吴九十")
    late_death = person("1950-06-01", 903, "郑迟报")
    back_dated = person("1952-07-07", 904, "王补发", 享受起始月份="2023-12")
    no_account = person("1953-08-08", 905, "冯无账", 银行账号="")
    changer = person("1951-09-09", 906, "钱变更")
    late_approved = person("1949-10-10", 907, "陈后批", 享受起始月份="2024-03")
    schema = {c: pl.String for c in base.columns}
    frames = {}
    for month in SEQUENCE:
        rows = [eighty, ninety, changer if month < "2024-04" else changer | {"经济状况": "一般"}]
        if month < "2024-02":
            rows.append(late_death)
        elif month == "2024-02":
            rows.append(late_death | {"死亡日期": "2023-12-10"})  # the family's report came in February
        if month >= "2024-02":
            rows.append(back_dated)
        rows.append(no_account | ({"银行账号": "6228490000000905"} if month >= "2024-01" else {}))
        if month == "2024-04":
            rows.append(late_approved)
        frame = pl.concat([base, pl.DataFrame(rows, schema=schema)])
        if month == "2024-03":  # two accounts missing from the first March roster, supplied afterwards
            frames["2024-03"] = frame.with_columns(
                pl.when(pl.col("姓名").is_in(["周八十", "吴九十"]))
                .then(pl.lit(""))
                .otherwise(pl.col("银行账号"))
                .alias("银行账号")
            )
            frames["2024-03-corrected"] = frame
            frames["2024-03-supplement"] = pl.concat([frame, pl.DataFrame([late_approved], schema=schema)])
        else:
            frames[month] = frame
    return frames


def write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt.startswith("csv"):
        text = frame.write_csv(line_terminator="\r\n")
        data = text.encode("gb18030") if fmt == "csv-gb18030" else text.encode("utf-8")
        path.write_bytes((b"\xef\xbb\xbf" if fmt == "csv-utf8-bom" else b"") + data)
    elif fmt == "xlsx":
        with xlsxwriter.Workbook(path) as workbook:
            workbook.set_properties({"created": datetime(2024, 5, 1)})  # no clock time: same bytes every time
            frame.write_excel(workbook, worksheet="花名册", autofit=False)
    else:
        frame.write_parquet(path, compression="zstd", statistics=False)
    print(f"{path.relative_to(ROOT)}: {frame.height} rows")


def corrected(frame: pl.DataFrame) -> pl.DataFrame:
    """The township sends the missing bank accounts after the first run: fill them in."""
    missing = pl.col("银行账号") == ""
    filled = pl.lit("6228490") + pl.int_range(pl.len()).cast(pl.String).str.zfill(9)
    return frame.with_columns(pl.when(missing).then(filled).otherwise(pl.col("银行账号")).alias("银行账号"))


def main() -> None:
    for seed, (county, fmt) in enumerate(FORMATS.items(), start=1):
        out_dir = ROOT / "rosters" / county
        out_dir.mkdir(parents=True, exist_ok=True)
        suffix = {"xlsx": "xlsx", "parquet": "parquet"}.get(fmt, "csv")
        sample = with_broken_rows(roster(county, PEOPLE, Period(2024, 5), seed=seed, benefit_columns=True))
        # the 2024-05 samples carry the optional columns of issue 18 (供养方式, 残疾等级, …)
        write(sample, out_dir / f"2024-05.{suffix}", fmt)
        if county == "jiaxiang":  # the six months before it, the same people (the stored ledger runs)
            for month, frame in sequence(sample).items():
                write(frame, out_dir / f"{month}.csv", "csv-utf8")
        for month, period in enumerate(HISTORY.get(county, ()), start=1):
            frame = with_broken_rows(
                roster(county, HISTORY_PEOPLE, Period.parse(period), seed=seed * 100 + month)
            )
            write(frame, out_dir / f"{period}.csv", "csv-utf8")
            if county == "youyi" and period == "2024-04":
                write(corrected(frame), out_dir / f"{period}-corrected.csv", "csv-utf8")
    # the 户籍 extract of Jiaxiang's 2024-05 sample (seed 1, as its roster): see synth.population
    population_dir = ROOT / "population" / "jiaxiang"
    population_dir.mkdir(parents=True, exist_ok=True)
    listed = population("jiaxiang", PEOPLE, POPULATION_EXTRA, Period(2024, 5), seed=1, elderly_extra=100)
    write(listed, population_dir / "2024-05.csv", "csv-utf8-bom")
    # Anqiu's yearly operating subsidies to institutions, day-care centres and canteens
    write(facility_roster("anqiu", 2024), ROOT / "rosters" / "anqiu" / "facilities-2024.csv", "csv-utf8-bom")


if __name__ == "__main__":
    main()
