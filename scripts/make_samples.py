"""Regenerate the bundled synthetic sample rosters under rosters/<county>/ (fixed seeds, no real people).

Run: uv run python scripts/make_samples.py
Each county's 2024-05 roster uses a different file format so that every reader is exercised by the quick
start. Jiaxiang and Youyi also get small rosters for 2024-03 and 2024-04, the inputs of the stored runs
under runs/ (see scripts/regenerate_runs.py), and Youyi a corrected 2024-04 roster for the superseding run.
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
HISTORY = {"jiaxiang": ("2024-03", "2024-04"), "youyi": ("2024-03", "2024-04")}


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
    # Anqiu's yearly operating subsidies to institutions, day-care centres and canteens
    write(facility_roster("anqiu", 2024), ROOT / "rosters" / "anqiu" / "facilities-2024.csv", "csv-utf8-bom")


if __name__ == "__main__":
    main()
