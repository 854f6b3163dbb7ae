"""One person's months across the county's accepted runs (for clerks and auditors)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.ledger.record import RETURNED_SCHEMA, Prior, answer_lines, read_ledger
from subsidy_batch.masking import mask_text, typed_id
from subsidy_batch.returns.record import read_answer, record_paths
from subsidy_batch.runs.manifest import load
from subsidy_batch.runs.store import StoredRun, accepted_monthly_runs, answers_dir


def history(county_dir: Path, id_number: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, recoveries) of one person: every line item of every accepted run, by month paid for."""
    wanted = typed_id(id_number)  # as explain folds it, before any run is read
    runs = accepted_monthly_runs(county_dir)
    if not runs:
        raise UsageError(f"{county_dir} holds no accepted monthly run")
    prior = [
        Prior(r.run_id, r.label, r.folder, r.checksums, frozenset(load(r.folder).read_runs())) for r in runs
    ]
    prior.sort(key=lambda p: len(p.read))  # in the order the runs were made, as a run reads them
    ledger = read_ledger(prior, _failed(county_dir, runs, wanted))
    # a line a bank's answer failed: its items are `returned`, with the bank's reason beside them
    reasons = ledger.returned.select("run_id", "id_number", bank_reason="reason").unique(
        ["run_id", "id_number"]
    )
    items = (
        ledger.items.filter(pl.col("id_number") == wanted)
        .join(reasons, on=["run_id", "id_number"], how="left")
        .with_columns(
            bank_reason=pl.when(pl.col("status") == "returned").then(pl.col("bank_reason")).otherwise(None)
        )
        .sort("for_period", "benefit", "label")
    )
    owed = ledger.recoveries.filter(pl.col("id_number") == wanted)
    if items.height == 0 and owed.height == 0:
        raise UsageError(f"{mask_text(wanted)} has no line item in any accepted run of {county_dir.name}")
    return items, owed


def _failed(county_dir: Path, runs: list[StoredRun], wanted: str) -> pl.DataFrame:
    """The person's failed lines in the banks' recorded answers to the runs (RETURNED_SCHEMA), each answer
    checked against its record's checksum first, as a run reads it."""
    frames = [
        answer_lines(read_answer(path, r.run_id), r.run_id)
        .filter(pl.col("status") == "failed", pl.col("id_number") == wanted)
        .drop("status")
        .with_columns(confirmed=pl.lit(False), paid_since=pl.lit(False))
        for r in runs
        for path in record_paths(answers_dir(county_dir, r.label, r.run_id))
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=RETURNED_SCHEMA)
