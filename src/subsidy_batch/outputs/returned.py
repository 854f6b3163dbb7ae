"""The statement of returned bank money a 财政 clerk prints, signs and files with the 缴款书 (退票资金上缴情况表).

`subsidy returned-funds --out FOLDER` writes returned-funds-<county>-<day>-<digest>.xlsx (never under runs/): a
sheet with a row per answer that failed lines (its money, and the voucher that handed it back or 待上缴, with every
withdrawn record beside it), the totals and a signature block; then a sheet of every failed line (who, how
much, the bank's reason, the voucher), IDs and accounts masked. It lists what `subsidy returned-funds`
lists, from the same records, and changes nothing. The same records listed on the same day give the same
bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch import masking
from subsidy_batch.errors import StorageError
from subsidy_batch.outputs.emit import sha256_file
from subsidy_batch.outputs.folders import side_folder
from subsidy_batch.outputs.labels import BANK_REASONS_ZH
from subsidy_batch.outputs.workbook import SIGNATURE, Cell, Column, Sheet, Table, write_sheets
from subsidy_batch.returns.remit import Returned
from subsidy_batch.roster import idnumber

SUMMARY, LINES = "上缴汇总", "退票明细"
HANDED_BACK, TO_HAND_BACK = "已上缴", "待上缴"
ANSWER_COLUMNS = (
    Column("所属期", 9),
    Column("发放批次 run", 30),
    Column("银行回盘 answer", 24),
    Column("代发银行", 24),
    Column("退票笔数", 9),
    Column("退票金额（元）", 14),
    Column("状态", 8),
    Column("缴款书号", 16),
    Column("上缴日期", 12),
    Column("登记人", 10),
    Column("已撤销的登记", 48, wrap=True),
)
LINE_COLUMNS = (
    Column("所属期", 9),
    Column("发放批次 run", 30),
    Column("银行回盘 answer", 24),
    Column("代发银行", 24),
    Column("银行文件", 26),
    Column("参考号", 14),
    Column("姓名", 12),
    Column("身份证号", 22),
    Column("银行账号", 24),
    Column("金额（元）", 12),
    Column("原因", 16),
    Column("原因代码", 16),
    Column("银行的原因", 22),
    Column("缴款书号", 16),
)


def file_name(county: str, made_on: date, digest: str) -> str:
    """returned-funds-<county>-<day>-<first 8 hex digits of the file's sha256>.xlsx: a statement printed and
    signed is never replaced by a later one of the same day, and listing the same records again writes
    the same file."""
    return f"returned-funds-{county}-{made_on.isoformat()}-{digest[:8]}.xlsx"


def _withdrawn(row: Mapping[str, Any]) -> str:
    """The answer's withdrawn records, one clause each: 缴O1（2024-06-12，王会计）2024-06-13 李出纳撤销：凭证号录错."""
    return "；".join(
        f"{w['voucher']}（{w['remitted_on']}，{w['recorded_by']}）{w['withdrawn_at'][:10]} "
        f"{w['withdrawn_by']}撤销：{masking.scrub(w['reason'])}"
        for w in row["withdrawn"]
    )


def _answer_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[Cell]]:
    return [
        [
            r["period"],
            r["run_id"],
            r["answer"],
            r["bank_name"],
            r["failed_lines"],
            Decimal(r["returned"]),
            TO_HAND_BACK if r["voucher"] is None else HANDED_BACK,
            r["voucher"],
            r["remitted_on"],
            r["recorded_by"],
            _withdrawn(r),
        ]
        for r in rows
    ]


def _totals(rows: Sequence[Mapping[str, Any]], totals: Mapping[str, Any]) -> list[list[Cell]]:
    """退票, 已上缴, 待上缴: lines and yuan (the yuan are returned_funds' totals, the lines counted here)."""
    handed = sum(r["failed_lines"] for r in rows if r["voucher"] is not None)
    lines = sum(r["failed_lines"] for r in rows)
    return [
        ["退票合计", lines, Decimal(totals["returned"])],
        [HANDED_BACK, handed, Decimal(totals["remitted"])],
        [TO_HAND_BACK, lines - handed, Decimal(totals["not_remitted"])],
    ]


def _line_rows(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per failed line, the columns of LINE_COLUMNS: the ID and the account masked."""
    return lines.select(
        "period",
        "run_id",
        "answer",
        "bank_name",
        "bank_file",
        "reference",
        idnumber.scrub_expr(pl.col("name")),
        idnumber.mask(pl.col("id_number")).alias("id_masked"),
        idnumber.mask(pl.col("bank_account")).alias("account_masked"),
        "amount",
        pl.col("reason").replace_strict(BANK_REASONS_ZH, default=pl.col("reason")).alias("reason_zh"),
        "reason",
        idnumber.scrub_expr(  # a bank's words may carry the account or ID they refused: masked too
            pl.concat_str(
                pl.col("bank_reason_code").fill_null(""),
                pl.col("bank_reason_text").fill_null(""),
                separator=" ",
            ).str.strip_chars()
        ).alias("bank_reason"),
        pl.col("voucher").fill_null(TO_HAND_BACK),
    )


def write_statement(
    county: str,
    county_name: str,
    listed: Returned,
    out: Path,
    made_on: date,
    runs_dir: Path | None = None,
) -> Path:
    """The statement of `listed` (returned_funds' rows, totals and failed lines) as of `made_on`, written
    to `out` (refused under a runs folder); returns its path."""
    rows, totals, lines = listed
    side_folder(out, "a returned-funds statement", runs_dir)
    as_of = f"截至 {made_on:%Y年%m月%d日}"
    summary = (
        f"合计：{totals['answers']} 个银行回盘退票 {totals['returned']} 元，已上缴 {totals['remitted']} 元，"
        f"待上缴 {totals['not_remitted']} 元"
    )
    sheets = [
        Sheet(
            SUMMARY,
            f"{county_name}退票资金上缴情况表（{as_of}）returned bank money and its handback to the treasury",
            ANSWER_COLUMNS,
            _answer_rows(rows),
            more=(
                Table(
                    "合计 totals",
                    (Column("项目", 9), Column("笔数", 30), Column("金额（元）", 24)),
                    _totals(rows, totals),
                ),
            ),
            footer=((summary,), *SIGNATURE),
            printed=True,
        ),
        Sheet(
            LINES,
            f"{county_name}退票明细（{as_of}）every failed bank line",
            LINE_COLUMNS,
            _line_rows(lines),
            footer=((f"共 {lines.height} 笔，{totals['returned']} 元；身份证号与银行账号已隐去中间位",),),
            printed=True,
        ),
    ]
    draft = out / f".returned-funds-{county}-{os.getpid()}.xlsx"
    try:
        write_sheets(draft, sheets, datetime(made_on.year, made_on.month, made_on.day))
        path = out / file_name(county, made_on, sha256_file(draft))
        draft.replace(path)  # the same name holds the same bytes: replacing it changes nothing
    except OSError as exc:
        raise StorageError(
            f"cannot write a returned-funds statement to {out}: {exc.strerror or exc}"
        ) from exc
    finally:
        draft.unlink(missing_ok=True)
    return path
