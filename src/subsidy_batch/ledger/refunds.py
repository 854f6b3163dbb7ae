"""Refunds of overpaid months (追回 received): recorded once, immutably, beside the county's runs.

`subsidy recovered RUN_DIR --id ID --benefit B --for-period P --by NAME` records that the family refunded
one month that RUN_DIR's recoveries.parquet lists as outstanding. Every later run reads every refund
record as an input (role `refund`) and reports the recovery as refunded, then no longer carries it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.masking import mask_text
from subsidy_batch.runs.manifest import load, now_local
from subsidy_batch.runs.records import read_record, text_fields, write_once
from subsidy_batch.runs.store import county_dir_of

REFUNDS_DIR = "refunds"
KEYS = ("id_number", "benefit", "for_period", "paid_by_run")
# Refusing is right: a record skipped would pay the refunded month again, or list it as owed again.
DAMAGED = (
    "it is an accepted refund, which every run reads so as not to pay the refunded month again: restore it "
    "from a backup (never delete it), then run again"
)


def record_refund(
    run_dir: Path, id_number: str, benefit: str, for_period: str, by: str, note: str | None = None
) -> dict[str, Any]:
    """Record that the month listed as outstanding in run_dir's recoveries.parquet was refunded."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who records the refund, e.g. --by "王会计"')
    listed = run_dir / "recoveries.parquet"
    if not listed.is_file():
        raise UsageError(f"{run_dir} lists no recoveries (no recoveries.parquet); name the run that lists it")
    wanted = id_number.strip().upper()
    owed = pl.read_parquet(listed).filter(
        pl.col("id_number") == wanted,
        pl.col("benefit") == benefit,
        pl.col("for_period") == for_period,
        pl.col("status") == "outstanding",
    )
    if owed.height == 0:
        raise UsageError(
            f"{run_dir / 'recoveries.parquet'} lists no outstanding {benefit} for {for_period} of {mask_text(wanted)}"
        )
    row = owed.row(0, named=True)
    record = {
        "id_number": wanted,
        "name": row["name"],
        "benefit": benefit,
        "for_period": for_period,
        "paid_by_run": row["paid_by_run"],
        "amount": str(row["amount"]),
        "listed_in": load(run_dir).run_id,
        "recorded_by": by.strip(),
        "recorded_at": now_local(),
        "note": note,
    }
    key = "|".join(str(record[k]) for k in KEYS)
    path = county_dir_of(run_dir) / REFUNDS_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        write_once(path, record, "refund record", "record the refund again")
    except FileExistsError:
        raise UsageError(
            f"the refund of {benefit} for {for_period} of {mask_text(wanted)} is already recorded"
        ) from None
    return record


def read_refunds(paths: list[Path]) -> pl.DataFrame:
    """The refund records a run read: one row per refunded month (the KEYS columns)."""
    rows = [text_fields(read_record(p, DAMAGED), p, KEYS, DAMAGED) for p in paths]
    return pl.DataFrame([{k: r[k] for k in KEYS} for r in rows], schema={k: pl.String for k in KEYS})
