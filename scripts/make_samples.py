"""Regenerate the bundled synthetic sample rosters under rosters/<county>/ (fixed seeds, no real people).

Run: uv run python scripts/make_samples.py
Each county's 2024-05 roster uses a different file format so that every reader is exercised by the quick
start. Youyi also gets small rosters for 2024-03 and 2024-04, the inputs of stored runs under runs/ (see
scripts/regenerate_runs.py), and a corrected 2024-04 roster for the superseding run. Jiaxiang gets a
six-month sequence, 2024-01 .. 2024-06 (the ledger's stored runs; the events are listed in sequence()).
Anqiu also gets a facility roster for 2024 (subsidy run-facilities 2024 --county anqiu).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from subsidy_batch.period import Period
from subsidy_batch.synth import facility_roster, roster, with_broken_rows

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
SEQUENCE_PEOPLE = 300
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


def sequence() -> dict[str, pl.DataFrame]:
    """Jiaxiang's rosters for 2024-01 .. 2024-06, one population month after month, with the events the
    ledger must get right (each is asserted in tests/test_ledger.py):
      - 周八十 turns 80 in 2024-03 (born 1944-03-15): the Shandong living subsidy goes from 80 to 100
        yuan in 2024-04 (age counted at the end of the previous month): amount_changed;
      - 吴九十 turns 90 in 2024-05 (born 1934-05-20): 100 -> 200 yuan in 2024-06;
      - 郑迟报 dies on 2024-02-10; the rosters say so only from 2024-04: March was paid after the death
        month and becomes a recovery, carried forward once the person has left the roster (2024-05);
      - 王补发 is added in 2024-04 with 享受起始月份 2024-02: arrears for 2024-02 and 2024-03;
      - 冯无账 has no bank account in 2024-01 and 2024-02 (held), gets one in 2024-03: arrears for both;
      - 2024-05 is run, superseded with corrected accounts (2024-05-corrected.csv), released, then
        supplemented for 陈后批, approved late (2024-05-supplement.csv); 2024-06 pays them for June only;
      - 钱变更 leaves 低保 in 2024-06: stopped, no_longer_eligible (经济状况).
    """
    base = roster("jiaxiang", SEQUENCE_PEOPLE, Period(2024, 1), seed=71).with_columns(享受起始月份=pl.lit(""))
    eighty = person("1944-03-15", 901, "周八十")
    ninety = person("1934-05-20", 902, "吴九十")
    late_death = person("1950-06-01", 903, "郑迟报")
    back_dated = person("1952-07-07", 904, "王补发", 享受起始月份="2024-02")
    no_account = person("1953-08-08", 905, "冯无账", 银行账号="")
    changer = person("1951-09-09", 906, "钱变更")
    late_approved = person("1949-10-10", 907, "陈后批", 享受起始月份="2024-05")
    months: dict[str, list[dict[str, str]]] = {}
    for month in ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"):
        rows = [eighty, ninety, changer]
        rows.append(late_death | ({"死亡日期": "2024-02-10"} if month >= "2024-04" else {}))
        if month >= "2024-05":
            rows.remove(late_death | {"死亡日期": "2024-02-10"})  # the family's report came in April
        if month >= "2024-04":
            rows.append(back_dated)
        rows.append(no_account | ({"银行账号": "6228490000000905"} if month >= "2024-03" else {}))
        if month == "2024-06":
            rows = [r if r is not changer else changer | {"经济状况": "一般"} for r in rows]
            rows.append(late_approved)
        months[month] = rows
    frames = {}
    for month, rows in months.items():
        frame = pl.concat([base, pl.DataFrame(rows, schema={c: pl.String for c in base.columns})])
        if month == "2024-05":  # two accounts missing from the first May roster, supplied afterwards
            frames["2024-05-first"] = frame.with_columns(
                pl.when(pl.col("姓名").is_in(["周八十", "吴九十"])).then(pl.lit("")).otherwise(pl.col("银行账号")).alias("银行账号")
            )
            frames["2024-05-supplement"] = pl.concat(
                [frame, pl.DataFrame([late_approved], schema={c: pl.String for c in base.columns})]
            )
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
        write(
            # the 2024-05 samples carry the optional columns of issue 18 (供养方式, 残疾等级, …); the history
            # rosters below do not, so the stored runs built from them stay byte-identical
            with_broken_rows(roster(county, PEOPLE, Period(2024, 5), seed=seed, benefit_columns=True)),
            out_dir / f"2024-05.{suffix}",
            fmt,
        )
        for month, period in enumerate(HISTORY.get(county, ()), start=1):
            frame = with_broken_rows(
                roster(county, HISTORY_PEOPLE, Period.parse(period), seed=seed * 100 + month)
            )
            write(frame, out_dir / f"{period}.csv", "csv-utf8")
            if county == "youyi" and period == "2024-04":
                write(corrected(frame), out_dir / f"{period}-corrected.csv", "csv-utf8")
    names = {"2024-05-first": "2024-05", "2024-05": "2024-05-corrected"}
    for month, frame in sequence().items():
        write(frame, ROOT / "rosters" / "jiaxiang" / f"{names.get(month, month)}.csv", "csv-utf8")
    # Anqiu's yearly operating subsidies to institutions, day-care centres and canteens
    write(facility_roster("anqiu", 2024), ROOT / "rosters" / "anqiu" / "facilities-2024.csv", "csv-utf8-bom")


if __name__ == "__main__":
    main()
