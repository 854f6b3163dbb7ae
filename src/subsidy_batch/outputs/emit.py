"""Write the run's files: Parquet with exact decimals and fixed layout, and the manifest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import polars as pl

from subsidy_batch.money import DECIMAL, fen_to_decimal

# Fixed so that the same rows always give the same bytes (CONTRACT.md "Outputs").
ROW_GROUP_SIZE = 1_000_000
COMPRESSION: Final = "zstd"
COMPRESSION_LEVEL = 3

LINE_ITEMS = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("township", pl.String),
        ("benefit", pl.String),
        ("amount", DECIMAL),
        ("status", pl.String),
        ("hold_reason", pl.String),
        ("rule", pl.String),
        ("citation", pl.String),
        ("roster_row", pl.Int64),
        ("age", pl.Int32),
        ("kind", pl.String),  # regular / arrears / reissue (CONTRACT.md additions)
        ("for_period", pl.String),  # the month the item pays for; = period for regular items
    ]
)
CHANGES = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("township", pl.String),
        ("benefit", pl.String),
        ("change", pl.String),  # new / stopped / amount_changed / hold_released / newly_held / resumed
        ("reason", pl.String),  # for stopped: died / left_roster / no_longer_eligible
        ("detail", pl.String),  # the condition that stopped matching, the death date, ...
        ("old_amount", DECIMAL),
        ("new_amount", DECIMAL),
        ("old_status", pl.String),
        ("new_status", pl.String),
        ("old_rule", pl.String),
        ("new_rule", pl.String),
    ]
)
RECOVERIES = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("township", pl.String),
        ("benefit", pl.String),
        ("for_period", pl.String),
        ("amount", DECIMAL),
        ("paid_by_run", pl.String),  # the run, and so the bank batch id, that paid the month
        ("death_date", pl.Date),
        ("found_in", pl.String),  # the period whose run first found it
        ("status", pl.String),  # outstanding / refunded / bank_returned
    ]
)
DEATHS = pl.Schema(  # one row per person on the run's death list (run --deaths), README "Death lists"
    [
        ("period", pl.String),
        ("county", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("id_listed", pl.String),
        ("list_death_date", pl.Date),
        ("roster_name", pl.String),
        ("roster_death_date", pl.Date),
        ("death_date_used", pl.Date),
        ("outcome", pl.String),  # ledger/deaths.OUTCOMES
        ("conflict", pl.Boolean),
        ("name_matches", pl.Boolean),
        ("stops_this_month", pl.Boolean),
        ("stopped_amount", DECIMAL),
        ("recovery_amount", DECIMAL),
        ("recovery_months", pl.Int32),
        ("sources", pl.String),
        ("list_rows", pl.String),
        ("list_row_count", pl.Int32),
    ]
)
PAYMENTS = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("township", pl.String),
        ("bank_name", pl.String),
        ("bank_account", pl.String),
        ("amount", DECIMAL),
        ("items", pl.Int32),
    ]
)
FACILITY_LINE_ITEMS = pl.Schema(
    [
        ("year", pl.String),
        ("county", pl.String),
        ("facility_id", pl.String),
        ("name", pl.String),
        ("kind", pl.String),
        ("benefit", pl.String),
        ("amount", DECIMAL),
        ("status", pl.String),
        ("hold_reason", pl.String),
        ("rule", pl.String),
        ("citation", pl.String),
        ("base_amount", DECIMAL),
        ("rating", pl.String),
        ("rating_factor", pl.String),
        ("months_paid", pl.Int32),
        ("residents_moderate", pl.Int64),
        ("residents_severe", pl.Int64),
        ("daily_users", pl.Int64),
        ("roster_row", pl.Int64),
    ]
)
FACILITY_PAYMENTS = pl.Schema(
    [
        ("year", pl.String),
        ("county", pl.String),
        ("facility_id", pl.String),
        ("name", pl.String),
        ("bank_name", pl.String),
        ("bank_account", pl.String),
        ("amount", DECIMAL),
        ("items", pl.Int32),
    ]
)
INELIGIBLE = pl.Schema(
    [
        ("year", pl.String),
        ("county", pl.String),
        ("facility_id", pl.String),
        ("name", pl.String),
        ("kind", pl.String),
        ("benefit", pl.String),
        ("condition", pl.String),
        ("message", pl.String),
        ("roster_row", pl.Int64),
    ]
)
REJECTED = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("source", pl.String),
        ("row", pl.Int64),
        ("id_number", pl.String),
        ("column", pl.String),
        ("problem", pl.String),
        ("message", pl.String),
        ("file_row", pl.Int64),  # the row's line in the file as the clerk opens it (title and header counted)
        ("name", pl.String),
    ]
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_output(frame: pl.DataFrame, schema: pl.Schema, period: str, county: str) -> pl.DataFrame:
    """The contract's columns in its order; *_fen columns become decimal(18,2) yuan exactly."""
    frame = frame.with_columns(pl.lit(period).alias("period"), pl.lit(county).alias("county"))
    if "row" in frame.columns and "roster_row" in schema:
        frame = frame.rename({"row": "roster_row"})
    return frame.select(
        fen_to_decimal(pl.col(f"{name}_fen")).alias(name) if dtype == DECIMAL else pl.col(name).cast(dtype)
        for name, dtype in schema.items()
    )


# (A changed description changes the bytes of every stored run's Parquet files: add, never reword.
# In deaths_rejected.parquet, source, row and column are the death list's.)
# What each output column means, for auditors: written into every Parquet file's key-value metadata
# (`subsidy_batch.columns`, a JSON object), read with pyarrow.parquet.read_metadata(path).metadata or
# DuckDB's parquet_kv_metadata('file.parquet').
DESCRIPTIONS = {
    "period": "the month of the run (YYYY-MM); for facility files the run's key",
    "year": "the year of a facility run",
    "county": "the county's config name (config/counties/<county>.yaml)",
    "id_number": "公民身份号码, 18 characters, as validated (GB 11643)",
    "facility_id": "统一社会信用代码 of the facility",
    "name": "姓名 as in the roster",
    "township": "乡镇（街道） as in the roster",
    "benefit": "the benefit's key in the county config",
    "amount": "yuan, decimal(18,2), exact; null only when the standard is not set",
    "base_amount": "yuan before the rating factor, decimal(18,2)",
    "status": "paid / held (line items); succeeded / failed (bank answers); outstanding / refunded / bank_returned (recoveries)",
    "hold_reason": "why a held item is not paid: standard_not_set / account_stored_as_number / no_bank_account / bank_returned / account_refused / paid_under_other_id / duplicate_payee",
    "rule": "the config row that decided the item: <file>#<benefit>/<row id>",
    "citation": "the policy document and item the rule row cites",
    "roster_row": "the person's data row in the roster (1 = first data row)",
    "age": "age in full years (周岁) on the county's age reference day for the month paid for",
    "kind": "regular / arrears (补发) / reissue (a payment a bank returned, paid again)",
    "for_period": "the month an item pays for (YYYY-MM); equals period for regular items",
    "bank_name": "开户银行 as in the roster: the bank file the payment goes to",
    "bank_account": "银行账号 as in the roster",
    "items": "number of paid line items in the payment",
    "source": "the roster file (and [file]sheet for a workbook of several sheets)",
    "row": "the data row of the roster (1 = first data row)",
    "file_row": "the line a clerk finds the row on in the file, title rows and header counted",
    "column": "the roster column the problem is in",
    "problem": "a stable problem code (README: problem codes)",
    "message": "what is wrong and how to fix it, in one sentence",
    "change": "new / stopped / amount_changed / hold_released / newly_held / resumed",
    "reason": "for stopped: died / left_roster / no_longer_eligible",
    "detail": "the date of death, or the condition of last month's rule that no longer holds",
    "old_amount": "last period's amount, yuan",
    "new_amount": "this period's amount, yuan",
    "old_status": "last period's status",
    "new_status": "this period's status",
    "old_rule": "last period's rule row",
    "new_rule": "this period's rule row",
    "paid_by_run": "the run (and bank batch id) that paid the month",
    "death_date": "死亡日期 as the roster reports it",
    "found_in": "the period whose run first found the overpayment",
    "id_listed": "公民身份号码 as the death list writes it (a 15-digit ID is matched as its 18-character form); '; ' between forms",
    "list_death_date": "the earliest 死亡日期 the death list gives for the person",
    "roster_name": "姓名 on this month's roster (null: not on it)",
    "roster_death_date": "死亡日期 on this month's roster (null: alive there, or not on it)",
    "death_date_used": "the date the run used: the earlier of the list's and the roster's",
    "outcome": "confirmed / roster_alive / roster_later / roster_earlier / not_on_roster / roster_rejected",
    "conflict": "the roster says otherwise than the list (alive, or another date)",
    "name_matches": "the list's 姓名 equals the roster's (null: not on the roster); a mismatch is worth a look",
    "stops_this_month": "the roster alone would have paid the person this month; the death list stops it",
    "stopped_amount": "yuan this month's regular items would have paid without the death list",
    "recovery_amount": "yuan paid after death by accepted runs and still outstanding (recoveries.parquet)",
    "recovery_months": "number of outstanding recovery items (person x benefit x month)",
    "sources": "every department that listed the death, with its date (殡葬 2024-05-03; 公安 2024-05-04)",
    "list_rows": "the death list's data rows of the person (1 = first data row)",
    "list_row_count": "how many rows of the death list name the person",
    "condition": "the facility condition that failed",
    "months_paid": "months of the year the subsidy is paid for",
    "rating": "the facility's star rating",
    "rating_factor": "the factor the rating earns (0.8-1.2), when the county has set it",
    "residents_moderate": "residents assessed as moderately disabled",
    "residents_severe": "residents assessed as severely disabled",
    "daily_users": "average daily users of the day-care centre or canteen",
}


def column_metadata(columns: list[str], descriptions: Mapping[str, str] = DESCRIPTIONS) -> dict[str, str]:
    """The key-value metadata of a Parquet output: every column's description, and the contract."""
    described = {c: descriptions.get(c, "") for c in columns}
    return {
        "subsidy_batch.columns": json.dumps(described, ensure_ascii=False, sort_keys=True),
        "subsidy_batch.contract": "../shared/spec/CONTRACT.md; README.md 'What a run writes'",
    }


def write_parquet(frame: pl.DataFrame, path: Path, descriptions: Mapping[str, str] = DESCRIPTIONS) -> None:
    # polars writes the columns in parallel (pyarrow took 3x as long for 2 million line items); the
    # Parquet types are plain STRING, DECIMAL(18,2) and INT, which every reader (DuckDB, pandas, Excel
    # add-ins) understands
    frame.write_parquet(
        path,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        row_group_size=ROW_GROUP_SIZE,
        statistics=True,
        metadata=column_metadata(frame.columns, descriptions),
    )


def write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
