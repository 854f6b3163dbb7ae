"""report.xlsx: the monthly report a clerk prints, signs and files (issue 14 item 2).

Sheets: 汇总 (by benefit, the 乡镇 × age band table and the signature block), 暂缓发放 (held items and why),
问题数据 (rejected rows, every problem), and 变动 / 补发 / 追回 when those frames are given, 死亡名单核对 and
死亡名单问题行 when the run was given a death list (run --deaths). ID numbers are
masked as in rejected.xlsx. The totals it shows are computed from the line items and must equal the
manifest's `totals`, or nothing is written (ReconciliationError).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import ReconciliationError
from subsidy_batch.outputs.labels import (
    STATUS_ZH,
    age_band,
    bands_shown,
    benefit_zh,
    hold_reason_zh,
    mapped,
    person,
    person_column,
)
from subsidy_batch.outputs.workbook import (
    SIGNATURE,
    Cell,
    Column,
    Sheet,
    Table,
    rejected_sheet,
    write_sheets,
)
from subsidy_batch.period import Period
from subsidy_batch.roster import idnumber

REPORT_XLSX = "report.xlsx"
# A detail sheet lists at most this many rows (the summary always covers every item): a printed report of
# a province's hundreds of thousands of held items helps no one and costs a minute to write. The title
# says how many rows there are and where every one of them is.
DETAIL_ROWS = 10_000


def capped(frame: pl.DataFrame, title: str, where: str) -> tuple[pl.DataFrame, str]:
    """The first DETAIL_ROWS rows and a title that says so, naming the file that holds them all."""
    if frame.height <= DETAIL_ROWS:
        return frame, title
    return frame.head(DETAIL_ROWS), f"{title}；此处列出前 {DETAIL_ROWS} 条，全部见 {where}"


SUMMARY, HELD, REJECTED, CHANGES, ARREARS, RECOVERIES = "汇总", "暂缓发放", "问题数据", "变动", "补发", "追回"
DEATHS, DEATHS_REJECTED = "死亡名单核对", "死亡名单问题行"
# Chinese headers of the columns the ledger's frames (changes, arrears, recoveries) are expected to carry;
# a column not listed keeps its own name
HEADERS_ZH = {
    "period": "发放月份",
    "for_period": "所属月份",
    "county": "县",
    "id_number": "身份证号",
    "name": "姓名",
    "township": "乡镇（街道）",
    "benefit": "项目代码",
    "change": "变动",
    "reason": "原因",
    "old_amount": "原金额",
    "new_amount": "新金额",
    "old_status": "原状态",
    "new_status": "新状态",
    "amount": "金额（元）",
    "status": "状态",
    "hold_reason": "暂缓原因代码",
    "rule": "规则",
    "citation": "依据",
    "kind": "类别",
    "run_id": "发放批次",
    "bank_reference": "银行流水",
    # deaths.parquet (run --deaths)
    "id_listed": "名单上的身份证号",
    "list_death_date": "名单死亡日期",
    "roster_name": "花名册姓名",
    "roster_death_date": "花名册死亡日期",
    "death_date_used": "采用的死亡日期",
    "outcome": "核对结果",
    "conflict": "与花名册不一致",
    "name_matches": "姓名一致",
    "stops_this_month": "本月停发",
    "stopped_amount": "本月停发金额",
    "recovery_amount": "应追回金额",
    "recovery_months": "应追回月数",
    "sources": "来源",
    "list_rows": "名单行号",
    "list_row_count": "名单行数",
}
ZERO = Decimal("0.00")


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def summary_by_benefit(items: pl.DataFrame, benefits: Iterable[str]) -> list[dict[str, Any]]:
    """Per benefit: people with an item, items, paid items, paid amount, held items (in `benefits` order)."""
    grouped = {
        r["benefit"]: r
        for r in items.lazy()  # lazy: only the columns used are read
        .group_by("benefit")
        .agg(
            people=person(items).n_unique(),
            items=pl.len(),
            paid_items=(pl.col("status") == "paid").sum(),
            paid_amount=pl.col("amount").filter(pl.col("status") == "paid").sum(),
            held_items=(pl.col("status") == "held").sum(),
        )
        .collect()
        .iter_rows(named=True)
    }
    out = []
    for benefit in benefits:
        r = grouped.get(benefit, {})
        out.append(
            {
                "benefit": benefit,
                "people": int(r.get("people", 0)),
                "items": int(r.get("items", 0)),
                "paid_items": int(r.get("paid_items", 0)),
                "paid_amount": _money(r.get("paid_amount")),
                "held_items": int(r.get("held_items", 0)),
            }
        )
    return out


def _check_totals(rows: list[dict[str, Any]], items: pl.DataFrame, totals: Mapping[str, Any]) -> None:
    """The report's figures against the manifest's: any difference stops the report."""
    problems = []
    paid = sum((r["paid_amount"] for r in rows), ZERO)
    if paid != _money(totals["paid_amount"]):
        problems.append(f"paid amount {paid} != manifest {totals['paid_amount']}")
    for key in ("paid_items", "held_items"):
        if sum(r[key] for r in rows) != totals[key]:
            problems.append(f"{key} {sum(r[key] for r in rows)} != manifest {totals[key]}")
    if items.height != totals.get("line_items", items.height):
        problems.append(f"line items {items.height} != manifest {totals['line_items']}")
    for r in rows:
        stated = totals["by_benefit"].get(r["benefit"])
        if stated is None:
            continue
        if (r["paid_items"], r["paid_amount"], r["held_items"]) != (
            stated["paid_items"],
            _money(stated["paid_amount"]),
            stated["held_items"],
        ):
            problems.append(f"benefit {r['benefit']} differs from the manifest")
    if problems:
        raise ReconciliationError("report.xlsx would not match the manifest: " + "; ".join(problems))


def held_by_reason(items: pl.DataFrame, totals: Mapping[str, Any]) -> list[tuple[str, int, Decimal | None]]:
    """Per hold reason the manifest counts (in its order): held items and the amount they would pay, None
    where one has no amount (the standard is not set). Computed from the items; any difference from the
    manifest's `held_items_by_reason` / `held_amount_by_reason` stops the report."""
    grouped = {
        r["hold_reason"]: r
        for r in items.lazy()
        .filter(pl.col("status") == "held")
        .group_by("hold_reason")
        .agg(n=pl.len(), amount=pl.col("amount").sum(), unset=pl.col("amount").null_count())
        .collect()
        .iter_rows(named=True)
    }
    stated = totals.get("held_amount_by_reason") or {}
    out, problems = [], []
    for code, n in totals["held_items_by_reason"].items():
        r = grouped.get(code, {})
        amount = None if r.get("unset") else _money(r.get("amount"))
        if int(r.get("n", 0)) != n:
            problems.append(f"held items {code} {r.get('n', 0)} != manifest {n}")
        if code in stated and amount != (None if stated[code] is None else _money(stated[code])):
            problems.append(f"held amount {code} {amount} != manifest {stated[code]}")
        out.append((code, n, amount))
    if problems:
        raise ReconciliationError("report.xlsx would not match the manifest: " + "; ".join(problems))
    return out


def township_age_table(items: pl.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    """The bands shown and, per 乡镇 (then 合计), per band: people with an item, and the paid amount."""
    frame = items.with_columns(band=age_band(pl.col("age")))
    bands = bands_shown(frame.get_column("band").unique().to_list())
    cells = {
        (r["township"], r["band"]): r
        for r in frame.lazy()  # lazy: 0.9 -> 0.45 s of CPU at 10M people, the same figures
        .group_by("township", "band")
        .agg(
            people=person(items).n_unique(),
            amount=pl.col("amount").filter(pl.col("status") == "paid").sum(),
        )
        .collect()
        .iter_rows(named=True)
    }
    townships = sorted(frame.get_column("township").unique().to_list())
    rows = []
    for township in [*townships, None]:
        row: dict[str, Any] = {"township": township}
        for band in bands:
            picked = [c for (t, b), c in cells.items() if b == band and (township is None or t == township)]
            row[band] = (
                sum(int(c["people"]) for c in picked),
                sum((_money(c["amount"]) for c in picked), ZERO),
            )
        rows.append(row)
    return bands, rows


def _summary_sheet(
    title: str, items: pl.DataFrame, totals: Mapping[str, Any], titles: Mapping[str, str]
) -> Sheet:
    benefits = list(totals["by_benefit"]) or sorted(items.get_column("benefit").unique().to_list())
    by_benefit = summary_by_benefit(items, benefits)
    _check_totals(by_benefit, items, totals)
    benefit_rows: list[list[Cell]] = [
        [
            benefit_zh(r["benefit"], titles),
            r["benefit"],
            r["people"],
            r["items"],
            r["paid_items"],
            r["paid_amount"],
            r["held_items"],
        ]
        for r in by_benefit
    ]
    benefit_rows.append(
        [
            "合计",
            None,
            items.select(person(items).n_unique()).item(),
            items.height,
            int(totals["paid_items"]),
            _money(totals["paid_amount"]),
            int(totals["held_items"]),
        ]
    )
    bands, township_rows = township_age_table(items)
    band_columns = tuple(Column(f"{band}{what}", 11) for band in bands for what in ("人数", "金额"))
    township_cells: list[list[Cell]] = [
        ["合计" if r["township"] is None else r["township"], *(v for band in bands for v in r[band])]
        for r in township_rows
    ]
    overall: list[list[Cell]] = [
        ["花名册人数", int(totals["people_read"])],
        [
            "通过校验人数",
            int(totals.get("people_accepted", totals["people_read"] - totals["people_rejected"])),
        ],
        ["问题数据行数", int(totals["people_rejected"])],
        ["发放人数", int(totals["paid_people"])],
        ["发放金额（元）", _money(totals["paid_amount"])],
        ["暂缓条目", int(totals["held_items"])],
    ]
    return Sheet(
        SUMMARY,
        title,
        (
            Column("项目", 24),
            Column("项目代码", 24),
            Column("享受人数", 10),
            Column("条目数", 10),
            Column("发放条目", 10),
            Column("发放金额（元）", 16),
            Column("暂缓条目", 10),
        ),
        benefit_rows,
        more=(
            Table(
                "按乡镇（街道）与年龄段：人数（有发放或暂缓条目的人）与发放金额（元）",
                (Column("乡镇（街道）", 16), *band_columns),
                township_cells,
            ),
            Table(
                "暂缓发放（按原因）：条目与应发金额（元），不在发放金额之内",
                (
                    Column("暂缓原因", 24, wrap=True),
                    Column("原因代码", 24),
                    Column("条目", 10),
                    Column("金额（元）", 16),
                ),
                [
                    [hold_reason_zh(code), code, n, "标准未定" if amount is None else amount]
                    for code, n, amount in held_by_reason(items, totals)
                ],
            ),
            Table("总体", (Column("指标", 16), Column("数值", 16)), overall),
        ),
        footer=SIGNATURE,
        printed=True,
    )


def _held_sheet(items: pl.DataFrame, titles: Mapping[str, str]) -> Sheet:
    # in (乡镇, ID, benefit) order, items' own order among equals (the row number breaks ties, so the order
    # is total): the first rows of that order are found without sorting them all, and one row more than a
    # sheet shows is taken, so that capped() still says the list goes on
    order = ["township", person_column(items), "benefit", "i"]
    held_rows = items.select(*order[:-1], "status").with_row_index("i").filter(pl.col("status") == "held")
    if held_rows.null_count().sum_horizontal().item():  # bottom_k would put an empty cell last, sort first
        ordered = held_rows.sort(order)
    else:
        ordered = held_rows.bottom_k(DETAIL_ROWS + 1, by=order).sort(order)
    first = ordered.head(DETAIL_ROWS + 1).get_column("i")
    every = held_rows.height
    held, title = capped(
        items[first],
        f"暂缓发放的条目（{every} 条）：原因与代码",
        "line_items.parquet（status = held）",
    )
    rows = held.select(
        "township",
        idnumber.scrub_expr(pl.col("name")),  # an ID typed into the name is masked too
        masked(pl.col("id_number")),
        mapped(pl.col("benefit"), lambda b: benefit_zh(b, titles)).alias("benefit_zh"),
        "benefit",
        mapped(pl.col("hold_reason"), hold_reason_zh).alias("hold_reason_zh"),
        "hold_reason",
        "amount",
        "rule",
        "citation",
    )
    return Sheet(
        HELD,
        title,
        (
            Column("乡镇（街道）", 14),
            Column("姓名", 12),
            Column("身份证号", 22),
            Column("项目", 22),
            Column("项目代码", 22),
            Column("暂缓原因", 30, wrap=True),
            Column("原因代码", 22),
            Column("金额（元）", 12),
            Column("规则", 40),
            Column("依据", 60, wrap=True),
        ),
        rows,
    )


def masked(column: pl.Expr) -> pl.Expr:
    """An ID number or account as masking.mask_text shows it (first 6 + ******** + last 4), in polars."""
    return idnumber.mask(pl.when(column != "").then(column))  # an empty value stays empty


def frame_sheet(name: str, title: str, frame: pl.DataFrame) -> Sheet:
    """Any frame of the ledger (changes, arrears, recoveries) as a sheet: Chinese headers where known,
    ID numbers and accounts masked, statuses and hold reasons shown with their Chinese beside, yes/no as
    是/否, dates and other values as text."""
    columns: list[Column] = []
    cells: list[pl.Expr] = []
    for c, dtype in frame.schema.items():
        columns.append(Column(HEADERS_ZH.get(c, c), 22 if c in ("id_number", "rule", "citation") else 14))
        col = pl.col(c)
        if c in ("id_number", "id_listed", "bank_account"):
            cell = masked(col.cast(pl.String))
        elif c in ("status", "old_status", "new_status") and dtype == pl.String:
            cell = mapped(col, lambda v: f"{STATUS_ZH.get(v, v)} {v}")
        elif c == "hold_reason" and dtype == pl.String:
            cell = mapped(col, lambda v: f"{hold_reason_zh(v)} {v}")
        elif dtype == pl.Boolean:
            cell = pl.when(col).then(pl.lit("是")).when(col.not_()).then(pl.lit("否"))
        elif dtype == pl.String:
            cell = idnumber.scrub_expr(col)  # an ID typed into a name or a note is masked too
        elif dtype.is_decimal() or dtype.is_integer():
            cell = col
        elif dtype == pl.Date:
            cell = col.cast(pl.String)  # as str(date): 2024-05-01
        else:
            cell = mapped(col.cast(pl.String), str)
        cells.append(cell.alias(c))
    return Sheet(name, title, tuple(columns), frame.select(cells))


def write_report_xlsx(
    path: Path,
    *,
    county_name: str,
    period: str,
    items: pl.DataFrame,
    payments: pl.DataFrame,
    rejected: pl.DataFrame,
    totals: Mapping[str, Any],
    changes: pl.DataFrame | None = None,
    arrears: pl.DataFrame | None = None,
    recoveries: pl.DataFrame | None = None,
    deaths: pl.DataFrame | None = None,
    deaths_rejected: pl.DataFrame | None = None,
    created: datetime,
    benefit_names: Mapping[str, str] | None = None,
    column_names: Mapping[str, str] | None = None,
) -> None:
    """Write report.xlsx at path. items, payments and rejected are the frames of line_items.parquet,
    payments.parquet and rejected.parquet; totals the manifest's `totals`. benefit_names: the benefits'
    Chinese names (labels.benefit_titles); column_names: the roster's Chinese headers (for 问题数据)."""
    month = Period.parse(period)
    what = f"{county_name}{month.year}年{month.month}月"
    titles = benefit_names or {}
    if payments.height != totals["paid_people"]:
        raise ReconciliationError(
            f"report.xlsx would not match the manifest: payments {payments.height} != paid people {totals['paid_people']}"
        )
    shown, rejected_title = capped(
        rejected,
        f"{what} 花名册问题数据（{rejected.get_column('row').n_unique()} 行，{rejected.height} 个问题）",
        "rejected.xlsx / rejected.parquet",
    )
    sheets = [
        _summary_sheet(f"{what} 养老补贴发放汇总表", items, totals, titles),
        _held_sheet(items, titles),
        rejected_sheet(shown, rejected_title, column_names, name=REJECTED),
    ]
    for name, frame, label, where in (
        (CHANGES, changes, "与上月相比的变动", "changes.parquet"),
        (ARREARS, arrears, "补发", "line_items.parquet（kind = arrears）"),
        (RECOVERIES, recoveries, "追回", "recoveries.parquet"),
        (DEATHS, deaths, "死亡名单核对：名单上每个人、与花名册的比对、本月停发与应追回", "deaths.parquet"),
    ):
        if frame is not None:
            part, title = capped(frame, f"{what} {label}（{frame.height} 条）", where)
            sheets.append(frame_sheet(name, title, part))
    if deaths_rejected is not None and deaths_rejected.height:
        shown, title = capped(
            deaths_rejected,
            f"{what} 死亡名单中有问题的行（{deaths_rejected.get_column('row').n_unique()} 行，未采用）",
            "deaths_rejected.parquet",
        )
        sheets.append(rejected_sheet(shown, title, column_names, name=DEATHS_REJECTED))
    write_sheets(path, sheets, created)
