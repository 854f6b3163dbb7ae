"""Bank payment files: one per bank, in the layout the county maps the bank to (docs/bank-file.md), and
their read-back."""

from __future__ import annotations

import re
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from subsidy_batch.errors import BankFileError
from subsidy_batch.money import fen_text, fen_text_expr, fen_to_yuan
from subsidy_batch.outputs import bankformat
from subsidy_batch.rules.layouts import BUILTIN, BUILTIN_CSV, BankLayouts, Layout

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BankFile:
    path: Path
    bank_name: str
    items: int
    total_fen: int
    layout: Layout = BUILTIN_CSV
    encoding: str = ""  # the file's encoding (empty for a workbook)


def bank_account_ok(digits: tuple[int, int]) -> pl.Expr:
    """An account can be paid into: only digits, as many as the schema's `payable` allows (8-30 in
    schemas/roster.yaml), at a named bank; no bank file could carry it otherwise."""
    low, high = digits
    account = pl.col("bank_account").str.contains(rf"^[0-9]{{{low},{high}}}$").fill_null(False)
    return account & pl.col("bank_name").is_not_null()


def account_stored_as_number() -> pl.Expr:
    """The account text shows it passed through an Excel number cell, which keeps 15 significant digits:
    Excel notation (6.22848E+18, or digits with a decimal point), or 18-19 digits that end in 000 or are
    exactly a float64 value (what a number cell stores). Such an account is never paid."""
    text = pl.col("bank_account")
    value = text.cast(pl.UInt64, strict=False)
    float_exact = value.cast(pl.Float64).cast(pl.UInt64, strict=False) == value
    long_digits = text.str.contains(r"^[0-9]{18,19}$")
    notation = text.str.contains(r"^[0-9]+(\.[0-9]*)?([eE]\+?[0-9]+|\.[0-9]*)$")  # 6.22848E+18, 6.2e18
    excel = notation | (long_digits & (text.str.ends_with("000") | float_exact))
    return excel.fill_null(False)


def neutralise(text: str) -> str:
    """Stop a spreadsheet from reading a cell as a formula (CSV injection): prefix it with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _neutralise(col: pl.Expr) -> pl.Expr:
    return pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + col).otherwise(col)


def file_name(index: int, bank_name: str, layout: Layout = BUILTIN_CSV) -> str:
    """The file name the layout's pattern gives the bank's file ({index}: 01, 02, ... in bank order)."""
    return layout.file_name.format(index=f"{index:02d}", bank=safe_name(bank_name))


def safe_name(bank_name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", bank_name).strip("._") or "bank"


def write_bank_files(
    payments: pl.DataFrame,
    out_dir: Path,
    batch_id: str,
    period: str,
    memo_template: str,
    encoding: str,
    pool: Executor | None = None,
    layouts: BankLayouts | None = None,
) -> list[BankFile]:
    """Write one file per bank_name in the layout the county maps it to (today's CSV by default), payees
    sorted by ID number (or credit code); returns what each holds.

    With a pool, the files are written as separate jobs on it (side by side with other jobs); the files,
    their names and the order of the list are the same either way.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    layouts = layouts or BUILTIN
    by_bank = payments.partition_by("bank_name", as_dict=True, maintain_order=True)  # one pass over all
    jobs = []
    for index, (bank_name,) in enumerate(sorted(by_bank), start=1):
        layout = layouts.for_bank(bank_name)
        jobs.append(
            partial(
                _write_one,
                by_bank[(bank_name,)],
                out_dir / file_name(index, bank_name, layout),
                bank_name,
                batch_id,
                period,
                memo_template,
                layout,
                layout.file_encoding(encoding),
            )
        )
    if pool is None:
        return [job() for job in jobs]
    return [done.result() for done in [pool.submit(job) for job in jobs]]


def amount_expr(fen: pl.Expr, layout: Layout) -> pl.Expr:
    return fen_text_expr(fen) if layout.amount == "yuan" else fen.cast(pl.String)


def amount_text(fen: int, layout: Layout) -> str:
    return fen_text(fen) if layout.amount == "yuan" else str(fen)


def references(batch_id: str) -> pl.Expr:
    """`<batch id>-<sequence, 6 digits>`, numbering the lines of one bank file from 1."""
    return pl.format("{}-{}", pl.lit(batch_id), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6))


def _write_one(
    payees: pl.DataFrame,
    path: Path,
    bank_name: str,
    batch_id: str,
    period: str,
    memo: str,
    layout: Layout,
    encoding: str,
) -> BankFile:
    rows = payees.sort("id_number")
    total = int(rows.get_column("amount_fen").sum())
    text = neutralise if layout.neutralise_formulas else str
    control = {
        "batch_id": batch_id,
        "period": period,
        "bank_name": text(bank_name),
        "count": str(rows.height),
        "total": amount_text(total, layout),
    }
    records = layout.records
    values = {
        "record": pl.lit(records.detail.code),
        "reference": references(batch_id),
        "sequence": pl.int_range(1, pl.len() + 1).cast(pl.String),
        "name": _neutralise(pl.col("name")) if layout.neutralise_formulas else pl.col("name"),
        "id_number": pl.col("id_number"),
        "account": pl.col("bank_account"),
        "amount": amount_expr(pl.col("amount_fen"), layout),
        "memo": pl.lit(text(memo)),
    }
    details = rows.select(bankformat.detail_exprs(records.detail, values))
    if layout.format == "xlsx":
        bankformat.write_xlsx(path, layout.sheet, records, control, details)
    else:
        bankformat.write_text(path, layout, records, encoding, control, details)
    return BankFile(path, bank_name, rows.height, total, layout, encoding)


DETAIL_COLUMNS = ("record", "reference", "name", "id_number", "account", "amount", "memo")


def read_bank_file(
    path: Path, encoding: str, text_fields: bool = True, layout: Layout = BUILTIN_CSV
) -> tuple[dict[str, object], pl.DataFrame]:
    """Parse a bank file back by its layout: the control record(s), and the detail records with exact
    amount_fen and their reference (from the sequence number where the layout writes no reference).

    With text_fields=False (the run's reconciliation) names and memos need not be decoded: in GB18030 and
    UTF-8 no byte of a character outside ASCII is a comma, a quote or a line break, so the records split
    the same. Decoding 700,000 payees' names in Python took 0.5 s and checked nothing the totals need.
    """
    records = layout.records
    encoding = layout.file_encoding(encoding)
    if layout.format == "xlsx":
        raw, details = bankformat.read_xlsx(path, layout.sheet, records, layout.amount)
    else:
        raw, details = bankformat.read_text(path, layout, records, encoding, text_fields)
    control = control_facts(raw, layout, path)
    details = detail_facts(details, layout, path, str(control["batch_id"]))
    if not text_fields:
        details = details.select("record", "amount", "amount_fen")
    return control, details


# at most Decimal(18,2): 16 digits of yuan before the point, 18 digits of fen (both fit an Int64 of fen)
AMOUNT_PATTERNS = {"yuan": r"^[0-9]{1,16}\.[0-9]{2}$", "fen": r"^[0-9]{1,18}$"}
AMOUNT_WORDS = {
    "yuan": "yuan with 2 decimals (at most 16 digits before the point)",
    "fen": "whole fen (at most 18 digits)",
}


def control_facts(raw: dict[str, str], layout: Layout, path: Path) -> dict[str, object]:
    """batch_id, period, bank_name, items and total (Decimal yuan) of a file's control record(s)."""
    count, total = raw.get("count", ""), raw.get("total", "")
    if not count.isdigit() or not re.fullmatch(AMOUNT_PATTERNS[layout.amount], total):
        raise BankFileError(f"{path.name}: first record is not a control record")
    return {
        "batch_id": raw.get("batch_id", ""),
        "period": raw.get("period", ""),
        "bank_name": raw.get("bank_name", ""),
        "items": int(count),
        "total": fen_to_yuan(parse_fen(total, layout)),
    } | {
        key: raw[key]
        for key in raw
        if key not in ("batch_id", "period", "bank_name", "count", "total", "record")
    }


def parse_fen(text: str, layout: Layout) -> int:
    return int(text.replace(".", "")) if layout.amount == "yuan" else int(text)


def detail_facts(details: pl.DataFrame, layout: Layout, path: Path, batch_id: str) -> pl.DataFrame:
    """The detail lines with amount_fen, record and reference columns, whatever the layout writes."""
    if details.height and not details.get_column("amount").str.contains(AMOUNT_PATTERNS[layout.amount]).all():
        raise BankFileError(f"{path.name}: an amount is not written as {AMOUNT_WORDS[layout.amount]}")
    record = layout.records.detail
    if "record" in details.columns and (details.get_column("record") != record.code).any():
        raise BankFileError(f"{path.name}: a record after the first is not a detail record")
    if "record" not in details.columns:
        details = details.with_columns(record=pl.lit(record.code))
    if "reference" not in details.columns:
        if not details.get_column("sequence").str.contains(r"^[0-9]{1,6}$").all():
            raise BankFileError(f"{path.name}: a 序号 (sequence number) is not a whole number")
        details = details.with_columns(
            reference=pl.format("{}-{}", pl.lit(batch_id), pl.col("sequence").str.zfill(6))
        )
    fen = pl.col("amount").str.replace(".", "", literal=True) if layout.amount == "yuan" else pl.col("amount")
    return details.with_columns(amount_fen=fen.cast(pl.Int64))
