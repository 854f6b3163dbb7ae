"""Accounts confirmed after a failed bank line (核实): recorded once, immutably, beside the county's runs.

A bank line that failed is held while the roster's name and account are as they were sent: a payment is
never resent blindly. Where they were right after all (a frozen account unfrozen, a bank's passing
trouble, a name the bank's own record had wrong), the clerk confirms it with the person or the bank:
`subsidy confirm-account RUN_DIR --id ID --by NAME` records that the name and account the bank's answer to
RUN_DIR refused may be paid again. Every later run reads every such record as an input (role
`account_confirmed`): the months that the failed lines to this name and account carried, in the answers
to RUN_DIR and to the runs before it, are reissued to the account, and a pair refused for good
(account_refused) is sent again. A line to it that fails in a later run is a failure of its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.masking import mask_text, typed_id
from subsidy_batch.returns.record import read_answer, record_paths
from subsidy_batch.runs.manifest import load, now_local
from subsidy_batch.runs.records import read_record, text_fields, write_once
from subsidy_batch.runs.store import MANIFEST, answers_dir, county_dir_of

CONFIRMED_DIR = "confirmed"
# the ID, name and account confirmed, and the run whose answer failed them: the record covers their
# failed lines in the answers to that run and to the runs it read (made before it)
KEYS = ("id_number", "sent_name", "sent_account", "run_id")
# Refusing is right: a record skipped would hold again what the clerk confirmed, and no one would know why.
DAMAGED = (
    "it is an accepted account confirmation, which every run reads to reissue the months the bank returned: "
    "restore it from a backup (never delete it), then run again"
)
SCHEMA = {k: pl.String for k in KEYS}


def confirm_account(run_dir: Path, id_number: str, by: str, note: str | None = None) -> dict[str, Any]:
    """Record that the name and account to which a bank's answer to run_dir failed the person's line may be
    paid again; UsageError when no recorded answer to that run failed a line of theirs, or it is recorded."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who confirmed the account, e.g. --by "王会计"')
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a stored run (it holds no {MANIFEST}); name the run whose line failed"
        )
    wanted = typed_id(id_number)
    manifest = load(run_dir)
    county_dir = county_dir_of(run_dir)
    answers = [
        read_answer(path, manifest.run_id)
        for path in record_paths(answers_dir(county_dir, manifest.period, manifest.run_id))
    ]
    failed = (
        pl.concat(answers).filter(pl.col("status") == "failed", pl.col("id_number") == wanted)
        if answers
        else pl.DataFrame()
    )
    if failed.height == 0:
        raise UsageError(
            f"no bank answer recorded for {manifest.run_id} ({run_dir}) failed a line of {mask_text(wanted)}: "
            "an account is confirmed for the run whose line failed (subsidy history shows which)"
        )
    line = failed.row(0, named=True)
    record = {
        "run_id": manifest.run_id,
        "period": manifest.period,
        "id_number": wanted,
        "sent_name": line["name"],
        "sent_account": line["bank_account"],
        "bank_name": line["bank_name"],
        "reason": line["reason"],
        "recorded_by": by.strip(),
        "recorded_at": now_local(),
        "note": note,
    }
    key = "|".join(str(record[k]) for k in KEYS)
    path = county_dir / CONFIRMED_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        write_once(path, record, "account confirmation", "confirm the account again")
    except FileExistsError:
        raise UsageError(
            f"the account of {mask_text(wanted)} that the bank's answer to {manifest.run_id} refused is already "
            "confirmed"
        ) from None
    return record


def read_confirmations(paths: list[Path]) -> pl.DataFrame:
    """The confirmations a run read: one row per confirmed failed line (the KEYS columns)."""
    rows = [text_fields(read_record(p, DAMAGED), p, KEYS, DAMAGED) for p in paths]
    return pl.DataFrame([{k: r[k] for k in KEYS} for r in rows], schema=SCHEMA)
