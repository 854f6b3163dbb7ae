"""Releasing a run: the record that its bank files were handed to the bank.

A run is released only once it is checked and approved by two people (runs.approval). A released run's
money may be gone: it is never superseded. What it got wrong is corrected through the
next month's arrears and recoveries, or a supplementary run (--supplement) for its period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from subsidy_batch.errors import UsageError
from subsidy_batch.runs.approval import APPROVE, CHECK, bank_files, require_approved
from subsidy_batch.runs.manifest import load, now_local
from subsidy_batch.runs.records import write_once
from subsidy_batch.runs.store import MANIFEST, county_dir_of, read_release, release_record


def release(run_dir: Path, by: str, note: str | None = None) -> dict[str, Any]:
    """Record, once and immutably, that the run's bank files went to the bank; returns the record."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who hands the files over, e.g. --by "王会计"')
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a run folder (no {MANIFEST}); name an accepted run, e.g. runs/jiaxiang/2024-05"
        )
    manifest = load(run_dir)
    county_dir = county_dir_of(run_dir)
    if "superseded" in run_dir.relative_to(county_dir).parts:
        raise UsageError(
            f"{run_dir} was superseded by a later run of {manifest.period}; release the accepted run"
        )
    path = release_record(county_dir, manifest.run_id)
    if path.is_file():
        _refuse_released(path, manifest.run_id)
    approved = require_approved(run_dir)  # checked and approved by two people, before the money leaves
    record = {
        "run_id": manifest.run_id,
        "county": manifest.county,
        "period": manifest.period,
        "released_by": by.strip(),
        "note": note,
        "released_at": now_local(),
        "bank_files": bank_files(run_dir, manifest),
        "checked_by": approved[CHECK]["by"],
        "approved_by": approved[APPROVE]["by"],
        "paid_amount": manifest.totals.get("paid_amount"),
    }
    try:
        write_once(path, record, "release record", "release again")
    except FileExistsError:  # someone else released it just now
        _refuse_released(path, manifest.run_id)
    return record


def _refuse_released(path: Path, run_id: str) -> NoReturn:
    earlier = read_release(path, run_id)
    raise UsageError(
        f"{run_id} was already released by {earlier['released_by']} at {earlier['released_at']}; "
        "a release is recorded once"
    )
