"""Approving a run before its bank files go to the bank (审核, 审批): two people, each recorded once.

Money leaves only after the run is checked (审核) and then approved (审批) by a second person, as the
approval chains of ../shared/research/disbursement.md §5 sign and stamp the 明细表 before the 财政所 loads
the data, and as its "what this means" 7 asks: maker, checker and approver, with names, times and file
hashes; no bank file until approved. `subsidy approve RUN_DIR --step check --by NAME` and then
`--step approve --by ANOTHER` write runs/<county>/approved/<run_id>.<step>.json once, each naming the
bank files (and their sha256) and the amount approved; `subsidy release` refuses a run without both.

Neither record changes what a run pays, and no run reads them: they stand beside the accepted run, which
still reproduces byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subsidy_batch.errors import UsageError, VerifyError
from subsidy_batch.outputs import emit
from subsidy_batch.runs.manifest import Manifest, load, now_local
from subsidy_batch.runs.records import read_record, text_fields, write_once
from subsidy_batch.runs.store import MANIFEST, county_dir_of, is_released

APPROVED_DIR = "approved"
CHECK, APPROVE = "check", "approve"
STEPS = {CHECK: "审核", APPROVE: "审批"}  # in the order they are taken
_TEXT = ("kind", "run_id", "period", "step", "by", "at")


def _remedy(run_id: str) -> str:
    return (
        f"it records who approved the bank files of {run_id}: restore it from a backup (never delete it), "
        "then try again"
    )


def approval_path(county_dir: Path, run_id: str, step: str) -> Path:
    return county_dir / APPROVED_DIR / f"{run_id}.{step}.json"


def bank_files(run_dir: Path, manifest: Manifest) -> list[dict[str, Any]]:
    """The run's bank files as its manifest lists them; UsageError when one differs from its checksum."""
    files = [o for o in manifest.outputs if str(o["file"]).startswith("bank/")]
    for entry in files:
        if emit.sha256_file(run_dir / entry["file"]) != entry["sha256"]:
            raise UsageError(
                f"{run_dir / entry['file']} differs from its manifest checksum; run subsidy verify {run_dir}"
            )
    return [{k: o[k] for k in ("file", "sha256", "rows", "total") if k in o} for o in files]


def read_approval(county_dir: Path, manifest: Manifest, step: str) -> dict[str, Any] | None:
    """The run's record of `step`, checked against the run; None when there is none. VerifyError naming
    the file when it is damaged, or names another run, step or other bank files than the run's own."""
    path = approval_path(county_dir, manifest.run_id, step)
    if not path.is_file():
        return None
    remedy = _remedy(manifest.run_id)
    record = text_fields(read_record(path, remedy), path, _TEXT, remedy)
    said = (record["kind"], record["run_id"], record["step"])
    if said != ("run_approval", manifest.run_id, step):
        raise VerifyError(
            f"{path}: it records {said[0]!r} {said[2]!r} of {said[1]}, and it is kept as the {step} of "
            f"{manifest.run_id}; {remedy}"
        )
    sent = {o["file"]: o["sha256"] for o in manifest.outputs if str(o["file"]).startswith("bank/")}
    named = record.get("bank_files")
    if (
        not isinstance(named, list)
        or {str(f.get("file")): f.get("sha256") for f in named if isinstance(f, dict)} != sent
    ):
        raise VerifyError(f"{path}: the bank files it approves are not the run's own ({MANIFEST}); {remedy}")
    return record


def approvals(run_dir: Path) -> dict[str, dict[str, Any] | None]:
    """The run's check and approval records (None where not recorded), in the order they are taken."""
    manifest = load(run_dir)
    county_dir = county_dir_of(run_dir)
    return {step: read_approval(county_dir, manifest, step) for step in STEPS}


def approve(run_dir: Path, step: str, by: str, note: str | None = None) -> dict[str, Any]:
    """Record, once and immutably, that `by` took `step` (check, then approve) for the run's bank files;
    returns the record. UsageError when the step is unknown, taken already or out of order, the approver
    is the checker, the run is not an accepted one or released already, or a bank file was changed."""
    if step not in STEPS:
        raise UsageError(
            f"--step {step!r} is not a step; give --step check (审核), then --step approve (审批) by another person"
        )
    if not by.strip():
        raise UsageError(f'--by needs the name of the person who takes the {STEPS[step]}, e.g. --by "李科长"')
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a run folder (no {MANIFEST}); name an accepted run, e.g. runs/jiaxiang/2024-05"
        )
    manifest = load(run_dir)
    county_dir = county_dir_of(run_dir)
    if "superseded" in run_dir.relative_to(county_dir).parts:
        raise UsageError(
            f"{run_dir} was superseded by a later run of {manifest.period}; approve the accepted run"
        )
    if is_released(county_dir, manifest.run_id):
        raise UsageError(
            f"{manifest.run_id} was released to the bank already; there is nothing left to approve"
        )
    done = {s: read_approval(county_dir, manifest, s) for s in STEPS}
    if (earlier := done[step]) is not None:
        raise UsageError(
            f"the {STEPS[step]} ({step}) of {manifest.run_id} was recorded by {earlier['by']} at {earlier['at']}; "
            "each step is recorded once"
        )
    checked = done[CHECK]
    if step == APPROVE and checked is None:
        raise UsageError(
            f"{manifest.run_id} is not checked yet: its 审核 comes first (subsidy approve {run_dir} --step check "
            "--by NAME), then the 审批 by another person"
        )
    if step == APPROVE and checked is not None and checked["by"].casefold() == by.strip().casefold():
        raise UsageError(
            f"{checked['by']} checked {manifest.run_id}; its 审批 needs a second person, never the one who checked it"
        )
    record = {
        "kind": "run_approval",
        "run_id": manifest.run_id,
        "county": manifest.county,
        "period": manifest.period,
        "step": step,
        "by": by.strip(),
        "at": now_local(),
        "note": note,
        "bank_files": bank_files(run_dir, manifest),
        "paid_amount": manifest.totals.get("paid_amount"),
    }
    try:
        write_once(
            approval_path(county_dir, manifest.run_id, step), record, "approval record", "approve again"
        )
    except FileExistsError:  # someone else recorded the same step just now
        raise UsageError(
            f"the {STEPS[step]} ({step}) of {manifest.run_id} was recorded by someone else just now; each step "
            "is recorded once"
        ) from None
    return record


def require_approved(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The run's check and approval records; UsageError naming what is missing when either is."""
    found = approvals(run_dir)
    missing = [f"{STEPS[s]} ({s})" for s, r in found.items() if r is None]
    if missing:
        run_id = load(run_dir).run_id
        raise UsageError(
            f"{run_id} is not approved: its bank files go to the bank only after a 审核 and a 审批 by two people, "
            f"and it lacks the {' and the '.join(missing)}; record them with subsidy approve {run_dir} --step "
            "check --by NAME, then --step approve --by ANOTHER"
        )
    return {s: r for s, r in found.items() if r is not None}
