"""Releasing a run: the record that its bank files were handed to the bank.

A run is released only once it is checked and approved by two people (runs.approval). A released run's
money may be gone: it is never superseded. What it got wrong is corrected through the
next month's arrears and recoveries, or a supplementary run (--supplement) for its period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from subsidy_batch.errors import UsageError
from subsidy_batch.runs.approval import APPROVE, CHECK, accepted_run, bank_files, require_approved
from subsidy_batch.runs.manifest import now_local
from subsidy_batch.runs.records import write_once
from subsidy_batch.runs.store import read_release, release_record


def release(run_dir: Path, by: str, note: str | None = None) -> dict[str, Any]:
    """Record, once and immutably, that the run's bank files went to the bank; returns the record."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who hands the files over, e.g. --by "王会计"')
    folder, county_dir, manifest = accepted_run(run_dir, "release")
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
        "bank_files": bank_files(folder, manifest),
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
