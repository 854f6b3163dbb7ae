"""One person's months across the county's accepted runs (for clerks and auditors)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.ledger.record import Prior, read_ledger
from subsidy_batch.masking import mask_text, typed_id
from subsidy_batch.runs.store import accepted_monthly_runs


def history(county_dir: Path, id_number: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, recoveries) of one person: every line item of every accepted run, by month paid for."""
    wanted = typed_id(id_number)  # as explain folds it, before any run is read
    runs = accepted_monthly_runs(county_dir)
    if not runs:
        raise UsageError(f"{county_dir} holds no accepted monthly run")
    ledger = read_ledger([Prior(r.run_id, r.label, r.folder, r.checksums) for r in runs])
    items = ledger.items.filter(pl.col("id_number") == wanted).sort("for_period", "benefit", "label")
    owed = ledger.recoveries.filter(pl.col("id_number") == wanted)
    if items.height == 0 and owed.height == 0:
        raise UsageError(f"{mask_text(wanted)} has no line item in any accepted run of {county_dir.name}")
    return items, owed
