"""Write the run's files: Parquet with exact decimals and fixed layout, and the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from subsidy_batch.money import DECIMAL, fen_array_to_decimal

# Fixed so that the same rows always give the same bytes (CONTRACT.md "Outputs").
ROW_GROUP_SIZE = 1_000_000
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3

LINE_ITEMS = pa.schema(
    [
        ("period", pa.string()),
        ("county", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("township", pa.string()),
        ("benefit", pa.string()),
        ("amount", DECIMAL),
        ("status", pa.string()),
        ("hold_reason", pa.string()),
        ("rule", pa.string()),
        ("citation", pa.string()),
        ("roster_row", pa.int64()),
        ("age", pa.int32()),
    ]
)
PAYMENTS = pa.schema(
    [
        ("period", pa.string()),
        ("county", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("township", pa.string()),
        ("bank_name", pa.string()),
        ("bank_account", pa.string()),
        ("amount", DECIMAL),
        ("items", pa.int32()),
    ]
)
FACILITY_LINE_ITEMS = pa.schema(
    [
        ("year", pa.string()),
        ("county", pa.string()),
        ("facility_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("benefit", pa.string()),
        ("amount", DECIMAL),
        ("status", pa.string()),
        ("hold_reason", pa.string()),
        ("rule", pa.string()),
        ("citation", pa.string()),
        ("base_amount", DECIMAL),
        ("rating", pa.string()),
        ("rating_factor", pa.string()),
        ("months_paid", pa.int32()),
        ("residents_moderate", pa.int64()),
        ("residents_severe", pa.int64()),
        ("daily_users", pa.int64()),
        ("roster_row", pa.int64()),
    ]
)
FACILITY_PAYMENTS = pa.schema(
    [
        ("year", pa.string()),
        ("county", pa.string()),
        ("facility_id", pa.string()),
        ("name", pa.string()),
        ("bank_name", pa.string()),
        ("bank_account", pa.string()),
        ("amount", DECIMAL),
        ("items", pa.int32()),
    ]
)
INELIGIBLE = pa.schema(
    [
        ("year", pa.string()),
        ("county", pa.string()),
        ("facility_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("benefit", pa.string()),
        ("condition", pa.string()),
        ("message", pa.string()),
        ("roster_row", pa.int64()),
    ]
)
REJECTED = pa.schema(
    [
        ("period", pa.string()),
        ("county", pa.string()),
        ("source", pa.string()),
        ("row", pa.int64()),
        ("id_number", pa.string()),
        ("column", pa.string()),
        ("problem", pa.string()),
        ("message", pa.string()),
    ]
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_arrow(frame: pl.DataFrame, schema: pa.Schema, period: str, county: str) -> pa.Table:
    """Arrow table in the contract's column order; *_fen columns become decimal(18,2) yuan exactly."""
    frame = frame.with_columns(pl.lit(period).alias("period"), pl.lit(county).alias("county"))
    if "row" in frame.columns and "roster_row" in schema.names:
        frame = frame.rename({"row": "roster_row"})
    names = [f"{f.name}_fen" if f.type == DECIMAL else f.name for f in schema]
    # newest compat level: polars hands its buffers over without copying (text arrives as string_view)
    table = frame.select(names).to_arrow(compat_level=pl.CompatLevel.newest())
    columns = []
    for field, column in zip(schema, table.columns, strict=True):
        if field.type == DECIMAL:
            columns.append(fen_array_to_decimal(column.cast(pa.int64())))
        elif pa.types.is_string(field.type):
            columns.append(column)  # string_view; Parquet stores it as plain STRING
        else:
            columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, names=schema.names)


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(
        table,
        path,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        row_group_size=ROW_GROUP_SIZE,
        write_statistics=True,
        # No embedded Arrow schema: every reader (DuckDB, pandas, Excel add-ins, old pyarrow) goes by the
        # plain Parquet types, STRING, DECIMAL(18,2) and INT, whatever Arrow layout wrote them.
        store_schema=False,
    )


def write_json(data: dict[str, Any], path: Path) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")
