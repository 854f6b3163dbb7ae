"""Where each accepted run of a county stands, and what is left to do for it (`subsidy status`).

A run's money goes out in steps, each recorded beside it: the 审核 and the 审批 (subsidy approve), the
release to the bank (subsidy release), the banks' answers (subsidy returns), and the money the answers
returned handed back to the treasury (subsidy remitted). This reads those records, checked as every
command reads them (a damaged one stops the list, exit 9), and writes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from subsidy_batch.returns.record import read_answer_record, record_paths
from subsidy_batch.returns.remit import returned_funds
from subsidy_batch.runs.approval import APPROVE, CHECK, approvals
from subsidy_batch.runs.manifest import load
from subsidy_batch.runs.store import (
    MANIFEST,
    accepted_monthly_runs,
    answers_dir,
    read_release,
    release_record,
)

_FACILITIES = re.compile(r"^facilities-\d{4}$")


def _folders(county_dir: Path) -> list[Path]:
    """Every accepted run of the county: the months and their supplements in order, then the facility years."""
    monthly = [r.folder for r in accepted_monthly_runs(county_dir)]
    yearly = (
        sorted(p for p in county_dir.iterdir() if _FACILITIES.match(p.name) and (p / MANIFEST).is_file())
        if county_dir.is_dir()
        else []
    )
    return monthly + yearly


def _next(run_dir: Path, row: dict[str, Any]) -> str:
    """The next thing to do for the run, as a command to type (or `done`)."""
    if not row["bank_files"]:
        return "done (the run sends nothing to a bank)"
    if row["released_by"] is None:
        if row["checked_by"] is None:
            return f"审核: subsidy approve {run_dir} --step check --by NAME"
        if row["approved_by"] is None:
            return f"审批 by a second person: subsidy approve {run_dir} --step approve --by NAME"
        return f"release: subsidy release {run_dir} --by NAME"
    if row["answered_files"] < row["bank_files"]:
        return (
            f"the banks' answers ({row['answered_files']} of {row['bank_files']} bank files answered): "
            f"subsidy returns {run_dir} FILE"
        )
    if Decimal(row["to_hand_back"]) > 0:
        return (
            f"hand back {row['to_hand_back']} yuan the answers returned: subsidy remitted {run_dir} --voucher NO "
            "--on YYYY-MM-DD --by NAME"
        )
    return "done"


def county_status(county_dir: Path) -> list[dict[str, Any]]:
    """One row per accepted run of the county, in order: what it pays, who checked, approved and released
    it and when, how many of its bank files the banks answered, what their answers returned and is still to
    hand back, and the next step."""
    owed: dict[str, Decimal] = {}
    for r in returned_funds(county_dir).rows:
        if r["voucher"] is None:
            owed[r["run_id"]] = owed.get(r["run_id"], Decimal("0.00")) + Decimal(r["returned"])
    rows = []
    for folder in _folders(county_dir):
        manifest = load(folder)
        steps = approvals(folder)
        path = release_record(county_dir, manifest.run_id)
        released = read_release(path, manifest.run_id) if path.is_file() else None
        answers = record_paths(answers_dir(county_dir, manifest.period, manifest.run_id))
        answered = {read_answer_record(p, manifest.run_id)["bank_file"] for p in answers}
        row: dict[str, Any] = {
            "period": manifest.period,
            "run_id": manifest.run_id,
            "run_dir": str(folder),
            "paid_amount": manifest.totals.get("paid_amount"),
            "bank_files": len(manifest.bank_outputs()),
            **{
                f"{key}_{field}": None if (record := steps[step]) is None else record[field]
                for step, key in ((CHECK, "checked"), (APPROVE, "approved"))
                for field in ("by", "at")
            },
            "released_by": None if released is None else released["released_by"],
            "released_at": None if released is None else released["released_at"],
            "answered_files": len(answered),
            "to_hand_back": f"{owed.get(manifest.run_id, Decimal('0.00')):.2f}",
        }
        row["next"] = _next(folder, row)
        rows.append(row)
    return rows
