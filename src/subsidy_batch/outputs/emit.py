"""Write the run's files: Parquet with exact decimals and fixed layout, and the manifest."""

from __future__ import annotations

import hashlib
import json
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
        ("status", pl.String),  # outstanding / refunded
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


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    # polars writes the columns in parallel (pyarrow took 3x as long for 2 million line items); the
    # Parquet types are plain STRING, DECIMAL(18,2) and INT, which every reader (DuckDB, pandas, Excel
    # add-ins) understands
    frame.write_parquet(
        path,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        row_group_size=ROW_GROUP_SIZE,
        statistics=True,
    )


def write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
