"""Whether a period already has an accepted run, told before the engine is imported.

A re-run of an accepted period is refused (it is never overwritten), and the refusal should answer as
fast as `subsidy --help` (issue 15). So this module needs only the records reader and the errors:
runs.store and runs.manifest (their dataclasses above all) took about 5 ms of a 70 ms refusal.
runs.store keeps the layout of a runs folder and uses what is here.
"""

from __future__ import annotations

from pathlib import Path

from subsidy_batch.errors import RunExistsError, VerifyError
from subsidy_batch.runs.records import DAMAGED, MANIFEST, read_record


def run_folder(runs_dir: Path, county: str, period: str) -> Path:
    """Where the accepted run of a county's period stands (<runs-dir>/<county>/<period>)."""
    return runs_dir / county / period


def refuse_if_accepted(runs_dir: Path, county: str, period: str) -> None:
    """RunExistsError when the period has an accepted run; VerifyError when its folder holds no run.

    `period` is the run's folder under the county (2024-05, facilities-2024, supplements/2024-05-s1)."""
    accepted = run_folder(runs_dir, county, period)
    if not accepted.exists():
        return
    if not (accepted / MANIFEST).is_file():
        raise VerifyError(not_a_run(accepted, runs_dir / county))
    label = period.rpartition("/")[2]
    raise RunExistsError(
        f"{county} {label} already has an accepted run ({accepted}, made {created_at(accepted)}); "
        f'it is never overwritten. To replace it, run again with --supersede "reason"'
    )


def created_at(run_dir: Path) -> str:
    """When a run was made, as its manifest says: refusing a re-run reads no more of it (nor needs to)."""
    try:
        record = read_record(run_dir / MANIFEST, DAMAGED)
    except VerifyError:
        record = None
    made = record.get("created_at") if isinstance(record, dict) else None
    return made if isinstance(made, str) and made else "an unknown time"


def not_a_run(folder: Path, county_dir: Path) -> str:
    """What stands where a run folder should, when it holds no manifest, and what to do about it."""
    if not folder.is_dir():
        return f"{folder} is a file where a run folder belongs: move it out of {county_dir}, then run again"
    if not any(folder.iterdir()):
        return f"{folder} is an empty folder, not an accepted run (no {MANIFEST}): remove it, then run again"
    return (
        f"{folder} holds files but no {MANIFEST}, so it is not a finished run (a copy or restore cut short?): "
        f"restore it from a backup, or move it out of {county_dir} if it is not a run, then run again"
    )
