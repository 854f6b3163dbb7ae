"""What `subsidy crosscheck` writes into --out (never under runs/): the findings as Parquet (full IDs, for
auditors), the list's problems as Parquet and xlsx, a summary JSON, and one xlsx per 乡镇 for the clerks
to verify (IDs masked, birth month only). The same inputs give the same bytes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import polars as pl

from subsidy_batch.crosscheck import Result
from subsidy_batch.outputs.emit import DESCRIPTIONS, write_json, write_parquet
from subsidy_batch.outputs.folders import side_folder
from subsidy_batch.outputs.gongshi import file_stem
from subsidy_batch.outputs.labels import benefit_zh
from subsidy_batch.outputs.workbook import Cell, Column, Sheet, rejected_sheet, write_sheets
from subsidy_batch.roster import idnumber

FINDINGS_ZH = {
    "missing_from_roster": "符合条件、不在花名册",
    "turning_eligible": "即将符合条件、不在花名册",
    "not_on_population_list": "在花名册、不在户籍名单",
    "population_status": "户籍名单状态为死亡/迁出/注销",
}
COLUMN_ZH = {
    "id_number": "公民身份号码",
    "name": "姓名",
    "hukou_code": "户籍区划代码",
    "birth_date": "出生日期",
    "township": "乡镇（街道）",
    "status": "人员状态",
}
DESCRIBED = DESCRIPTIONS | {
    "id_number": "公民身份号码, 18 characters (a 15-digit number of the population list converted by the standard rule)",
    "name": "姓名: the roster's for people on the roster (population_status: the list's), else the population list's",
    "township": "乡镇（街道）: the roster's for people on the roster, else the population list's, else 未知乡镇",
    "finding": "missing_from_roster / turning_eligible / not_on_population_list / population_status",
    "hukou_code": "户籍区划代码 (the population list's; the roster's for not_on_population_list)",
    "birth_date": "date of birth used: the population list's 出生日期 (the ID's for not_on_population_list)",
    "age": "age in full years (周岁) for `month`, counted with the county's age basis",
    "benefit": "the benefit whose conditions are met (list-side findings), else null",
    "rule": "the config row whose conditions are met: <file>#<benefit>/<row id>",
    "month": "the month the conditions are met (turning_eligible: the first month), else the period",
    "detail": "why the row is listed and what to verify",
    "population_row": "the person's data row in the population list (1 = first data row)",
    "roster_row": "the person's data row in the roster (1 = first data row)",
    "source": "the population list file",
    "column": "the population list column the problem is in",
    "outcome": "rejected (the row was not used) / used (the row was used; the problem is noted)",
}


def write_crosscheck(result: Result, out: Path, runs_dir: Path | None = None) -> list[Path]:
    """Every file of the crosscheck in `out`, refused under a runs folder; returns the paths written."""
    side_folder(out, "a crosscheck", runs_dir)
    county, period = result.summary["county"], result.summary["period"]
    stem = f"crosscheck-{county}-{period}"
    year, month = (int(x) for x in period.split("-"))
    created = datetime(year, month, 1)
    findings, problems = out / f"{stem}.parquet", out / f"{stem}-list-problems.parquet"
    write_parquet(result.findings, findings, DESCRIBED)
    write_parquet(result.problems, problems, DESCRIBED)
    problems_xlsx = out / f"{stem}-list-problems.xlsx"
    sheet = rejected_sheet(
        result.problems,
        f"{result.county_name} {period} 户籍名单问题行（被拒绝或已注明）population list problems",
        COLUMN_ZH,
    )
    write_sheets(problems_xlsx, [sheet], created)
    folder = out / stem
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.xlsx"):  # a township of an earlier crosscheck of the month may have none now
        old.unlink()
    written = [findings, problems, problems_xlsx]
    used: set[str] = set()
    for township in sorted(result.findings.get_column("township").unique().to_list()):
        name = file_stem(township)
        while name in used:
            name += "_"
        used.add(name)
        path = folder / f"{name}.xlsx"
        part = result.findings.filter(pl.col("township") == township)
        write_sheets(path, [_township_sheet(result, township, part)], created)
        written.append(path)
    summary = out / f"{stem}.json"
    write_json(result.summary | {"written": [str(p.relative_to(out)) for p in [*written, summary]]}, summary)
    return [*written, summary]


def _township_sheet(result: Result, township: str, part: pl.DataFrame) -> Sheet:
    """The 乡镇's findings for the clerk: masked ID, birth month only (a full date with the mask would give
    the ID number away), a column for what the clerk found."""
    rows = part.select(
        pl.col("finding"),
        idnumber.scrub_expr(pl.col("name")),  # an ID typed into the name is masked too
        idnumber.mask(pl.col("id_number")),
        pl.col("hukou_code"),
        pl.col("birth_date").dt.strftime("%Y-%m"),
        pl.col("age"),
        pl.col("benefit"),
        pl.col("rule").str.split("#").list.last(),
        pl.col("month"),
        pl.col("detail"),
    )

    def body() -> Iterable[list[Cell]]:
        for i, (finding, name, masked, hukou, born, age, benefit, rule, month, detail) in enumerate(
            rows.iter_rows(), start=1
        ):
            yield [
                i,
                FINDINGS_ZH[finding],
                finding,
                name,
                masked,
                hukou,
                born,
                age,
                None if benefit is None else benefit_zh(benefit, result.titles),
                rule,
                month,
                None if detail is None else idnumber.scrub(detail),
                None,
            ]

    period = result.summary["period"]
    return Sheet(
        "核对清单",
        f"{result.county_name}{township} {period} 免申即享核对清单（待核实，未发放 nothing paid）",
        (
            Column("序号", 6),
            Column("核对结果", 22),
            Column("finding", 22),
            Column("姓名", 10),
            Column("身份证号", 22),
            Column("户籍区划代码", 12),
            Column("出生年月", 10),
            Column("年龄", 6),
            Column("项目", 16),
            Column("规则", 30),
            Column("月份", 9),
            Column("说明", 70, wrap=True),
            Column("核实情况", 24),
        ),
        body(),
        footer=(("核实人", "", "", "日期"),),
        printed=True,
    )
