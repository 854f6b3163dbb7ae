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

import re
import unicodedata
from pathlib import Path
from typing import Any

from subsidy_batch.errors import UsageError, VerifyError
from subsidy_batch.outputs import emit
from subsidy_batch.runs.manifest import Manifest, load, now_local
from subsidy_batch.runs.records import read_record, text_fields, write_once
from subsidy_batch.runs.store import (
    MANIFEST,
    SUPERSEDED_DIR,
    SUPPLEMENTS_DIR,
    county_dir_of,
    is_released,
)

APPROVED_DIR = "approved"
CHECK, APPROVE = "check", "approve"
STEPS = {CHECK: "审核", APPROVE: "审批"}  # in the order they are taken
_TEXT = ("kind", "run_id", "period", "step", "by", "at")
_SUPPLEMENT = re.compile(r"-s\d+$")  # a supplement's period label: 2024-03-s1


def _remedy(run_id: str) -> str:
    return (
        f"it records who approved the bank files of {run_id}: restore it from a backup (never delete it), "
        "then try again"
    )


def approval_path(county_dir: Path, run_id: str, step: str) -> Path:
    return county_dir / APPROVED_DIR / f"{run_id}.{step}.json"


def bank_files(run_dir: Path, manifest: Manifest) -> list[dict[str, Any]]:
    """The run's bank files as its manifest lists them; UsageError when one differs from its checksum."""
    files = manifest.bank_outputs()
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
    sent = {o["file"]: o["sha256"] for o in manifest.bank_outputs()}
    named = record.get("bank_files")
    if (
        not isinstance(named, list)
        or {str(f.get("file")): f.get("sha256") for f in named if isinstance(f, dict)} != sent
    ):
        raise VerifyError(f"{path}: the bank files it approves are not the run's own ({MANIFEST}); {remedy}")
    return record


def same_person(a: str, b: str) -> bool:
    """Whether two names typed for --by are the same: compared in NFKC, without case, the spaces around
    them or invisible characters (a zero-width space). They are names as typed: the program cannot tell
    who typed them (README, "Approval")."""

    def key(name: str) -> str:
        shown = unicodedata.normalize("NFKC", name)
        return "".join(c for c in shown if unicodedata.category(c) != "Cf").strip().casefold()

    return key(a) == key(b)


def _county_dir(run_dir: Path) -> Path:
    """The county folder of the run at run_dir, found from the folder it is (`.` is a month's folder), and
    written as the clerk typed it where that names the same folder (records and messages then say
    runs/jiaxiang/..., as typed)."""
    typed, real = county_dir_of(run_dir), county_dir_of(run_dir.resolve())
    return typed if typed.resolve() == real else real


def accepted_run(run_dir: Path, verb: str) -> tuple[Path, Path, Manifest]:
    """The run at run_dir (its path resolved: `.` or a link names the folder it is), its county folder and
    manifest. UsageError unless it is the county's run of its period in its own folder: never a superseded
    run, nor a copy of a run kept under another name or in another county's folder. `verb`: what the
    refusal says to do with the accepted run instead (approve, release)."""
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a run folder (no {MANIFEST}); name an accepted run, e.g. runs/jiaxiang/2024-05"
        )
    folder = run_dir.resolve()
    manifest = load(run_dir)  # (a damaged manifest is named as the clerk typed its folder)
    county_dir = county_dir_of(folder)
    if SUPERSEDED_DIR in folder.relative_to(county_dir).parts:
        raise UsageError(
            f"{run_dir} was superseded by a later run of {manifest.period}; {verb} the accepted run"
        )
    own = (SUPPLEMENTS_DIR + "/" if _SUPPLEMENT.search(manifest.period) else "") + manifest.period
    if folder != county_dir / own or county_dir.name != manifest.county:
        raise UsageError(
            f"{run_dir} holds the run {manifest.run_id}, which stands in {manifest.county}/{own} of the runs "
            f"folder, not here; {verb} it there"
        )
    return folder, _county_dir(run_dir), manifest


def approvals(run_dir: Path) -> dict[str, dict[str, Any] | None]:
    """The run's check and approval records (None where not recorded), in the order they are taken."""
    manifest = load(run_dir)
    county_dir = _county_dir(run_dir)
    return {step: read_approval(county_dir, manifest, step) for step in STEPS}


def approve(run_dir: Path, step: str, by: str, note: str | None = None) -> dict[str, Any]:
    """Record, once and immutably, that `by` took `step` (check, then approve) for the run's bank files;
    returns the record. UsageError when the step is unknown, taken already or out of order, the approver
    is the checker, the run is not an accepted one in its own folder or is released already, or a bank
    file was changed."""
    if step not in STEPS:
        raise UsageError(
            f"--step {step!r} is not a step; give --step check (审核), then --step approve (审批) by another person"
        )
    if same_person(by, ""):
        raise UsageError(f'--by needs the name of the person who takes the {STEPS[step]}, e.g. --by "李科长"')
    folder, county_dir, manifest = accepted_run(run_dir, "approve")
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
    if step == APPROVE and checked is not None and same_person(checked["by"], by):
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
        "bank_files": bank_files(folder, manifest),
        "paid_amount": manifest.totals.get("paid_amount"),
    }
    try:
        write_once(
            approval_path(county_dir, manifest.run_id, step), record, "approval record", "approve again"
        )
    except FileExistsError:  # someone else recorded the same step just now
        earlier = read_approval(county_dir, manifest, step)
        who = f" by {earlier['by']} at {earlier['at']}" if earlier is not None else ""
        raise UsageError(
            f"the {STEPS[step]} ({step}) of {manifest.run_id} was recorded just now{who}; each step is recorded once"
        ) from None
    return record


def require_approved(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The run's check and approval records, after checking that two people took them in order; UsageError
    naming what is missing when either is, VerifyError when the records were edited (one person took
    both, or the approval is dated before the check)."""
    found = approvals(run_dir)
    checked, approved = found[CHECK], found[APPROVE]
    if checked is None or approved is None:
        missing = [f"{STEPS[s]} ({s})" for s, r in found.items() if r is None]
        raise UsageError(
            f"{load(run_dir).run_id} is not approved: its bank files go to the bank only after a 审核 and a 审批 "
            f"by two people, and it lacks the {' and the '.join(missing)}; record them with subsidy approve "
            f"{run_dir} --step check --by NAME, then --step approve --by ANOTHER"
        )
    where = approval_path(_county_dir(run_dir), checked["run_id"], APPROVE)
    remedy = _remedy(checked["run_id"])
    if same_person(checked["by"], approved["by"]):  # refused when recorded: a record edited or replaced
        raise VerifyError(f"{where}: it is approved by {approved['by']}, who checked it too; {remedy}")
    if approved["at"] < checked["at"]:  # both now_local() times, of one zone: they compare as text
        raise VerifyError(
            f"{where}: it is approved at {approved['at']}, before it was checked at {checked['at']}; {remedy}"
        )
    return {CHECK: checked, APPROVE: approved}
