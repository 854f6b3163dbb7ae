"""Releasing a run: the record that its bank files were handed to the bank.

A released run's money may be gone: it is never superseded. What it got wrong is corrected through the
next month's arrears and recoveries, or a supplementary run (--supplement) for its period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subsidy_batch.errors import UsageError
from subsidy_batch.outputs import emit
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
    bank_files = [o for o in manifest.outputs if str(o["file"]).startswith("bank/")]
    for entry in bank_files:  # the files handed over are the ones the run made
        if emit.sha256_file(run_dir / entry["file"]) != entry["sha256"]:
            raise UsageError(
                f"{run_dir / entry['file']} differs from its manifest checksum; run subsidy verify {run_dir}"
            )
    record = {
        "run_id": manifest.run_id,
        "county": manifest.county,
        "period": manifest.period,
        "released_by": by.strip(),
        "note": note,
        "released_at": now_local(),
        "bank_files": [{k: o[k] for k in ("file", "sha256", "rows", "total") if k in o} for o in bank_files],
        "paid_amount": manifest.totals.get("paid_amount"),
    }
    path = release_record(county_dir, manifest.run_id)
    try:
        write_once(path, record, "release record", "release again")
    except FileExistsError:
        earlier = read_release(path, manifest.run_id)
        raise UsageError(
            f"{manifest.run_id} was already released by {earlier['released_by']} at {earlier['released_at']}; "
            "a release is recorded once"
        ) from None
    return record
