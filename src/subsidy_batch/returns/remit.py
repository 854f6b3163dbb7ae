"""Returned funds handed back to the treasury (退票资金上缴): recorded once, immutably, beside the runs.

The money of a line a bank's answer failed goes back from the 代发银行 to the county's account (the
零余额账户 of 国库集中支付), while the person's month stays owed: the next run that may pay it pays it
again as a `reissue` line item, with money of its own, in its own bank files. So the returned money is
not used again; it is handed back to the treasury, "the rest returned to the treasury"
(../shared/research/disbursement.md §2, the 国库集中支付 办法 第44条), and the 财政 clerk who reconciles
the account must see, for every returned yuan, whether it was handed back and by which voucher.

`subsidy remitted RUN_DIR --voucher NO --on DATE --by NAME` records that the failed money of every
answer recorded for RUN_DIR and not yet covered was handed back, one record per answer, under
runs/<county>/remitted/<run id>/<answer folder>.json, written once. `subsidy returned-funds` lists every
recorded answer of the county with its returned amount, and which voucher handed it back or that it is
still to be handed back. Neither changes who is paid: a month returned is reissued whether or not its
money was handed back, so no run reads these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.returns.record import RECORD, read_answer, read_answer_record, record_paths
from subsidy_batch.runs.manifest import SHANGHAI, load, now_local
from subsidy_batch.runs.records import damaged, read_record, text_fields, write_once
from subsidy_batch.runs.store import ANSWERS_SUFFIX, MANIFEST, answers_dir, county_dir_of

REMITTED_DIR = "remitted"
_TEXT = ("run_id", "period", "answer", "amount", "voucher", "remitted_on", "recorded_by")
# Refusing is right: a record skipped would list money handed back as still to be handed back, and a
# second voucher could be drawn for it.
DAMAGED = (
    "it is an accepted record of returned money handed back to the treasury: restore it from a backup "
    "(never delete it), then list again"
)


@dataclass(frozen=True)
class Answer:
    """One recorded bank answer and the money its failed lines returned."""

    run_id: str
    period: str
    folder: str
    bank_name: str
    imported_at: str
    failed_lines: int
    returned: Decimal


def _answer(path: Path, run_id: str) -> Answer:
    """The answer at `path` (a returns.json), its lines read only after they match their checksum."""
    record = read_answer_record(path, run_id)
    failed = read_answer(path, run_id).filter(pl.col("status") == "failed")
    return Answer(
        run_id=run_id,
        period=str(record.get("period", "")),
        folder=path.parent.name,
        bank_name=str(record.get("bank_name", "")),
        imported_at=record["imported_at"],
        failed_lines=failed.height,
        returned=sum(failed.get_column("amount").to_list(), Decimal("0.00")),  # decimal(18,2): exact
    )


def _remitted_on(text: str) -> str:
    """A calendar date written YYYY-MM-DD, not after today (Asia/Shanghai); UsageError saying so."""
    given = text.strip()
    try:
        day = date.fromisoformat(given) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", given) else None
    except ValueError:  # 2024-02-30
        day = None
    if day is None:
        raise UsageError(
            f"--on {text!r} is not a date; write the day the money was handed back as YYYY-MM-DD, e.g. "
            "--on 2024-06-12"
        )
    today = datetime.now(SHANGHAI).date()
    if day > today:
        raise UsageError(f"--on {day} is after today ({today}): record money once it has been handed back")
    return day.isoformat()


def _record_path(county_dir: Path, run_id: str, folder: str) -> Path:
    return county_dir / REMITTED_DIR / run_id / f"{folder}.json"


def record_remittance(
    run_dir: Path, voucher: str, on: str, by: str, note: str | None = None
) -> list[dict[str, Any]]:
    """Record that the failed money of every answer to run_dir not yet covered was handed back to the
    treasury by `voucher` on `on`; one record per answer, returned in answer order. UsageError when the
    run has no answer that failed a line, or every such answer is covered already."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who records it, e.g. --by "王会计"')
    if not voucher.strip():
        raise UsageError(
            "--voucher needs the number of the 缴款书 (or other voucher) that handed the money back"
        )
    remitted_on = _remitted_on(on)
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a stored run (it holds no {MANIFEST}); name the run whose bank answer failed lines"
        )
    manifest = load(run_dir)
    made = manifest.created_at[:10]
    if remitted_on < made:  # ISO dates compare as text
        raise UsageError(
            f"--on {remitted_on} is before {manifest.run_id} was made ({made}): its money cannot have come back "
            "from the bank yet; give the day on the voucher"
        )
    county_dir = county_dir_of(run_dir)
    paths = record_paths(answers_dir(county_dir, manifest.period, manifest.run_id))
    answers = [a for a in (_answer(p, manifest.run_id) for p in paths) if a.failed_lines]
    if not answers:
        raise UsageError(
            f"no bank answer recorded for {manifest.run_id} ({run_dir}) failed a line, so no money came back "
            "from it (subsidy returned-funds lists the answers that did)"
        )
    todo = [a for a in answers if not _record_path(county_dir, a.run_id, a.folder).exists()]
    if not todo:
        covered = [_read(_record_path(county_dir, a.run_id, a.folder)) for a in answers]
        vouchers = ", ".join(sorted({c["voucher"] for c in covered}))
        raise UsageError(
            f"the money every bank answer to {manifest.run_id} returned is recorded as handed back already "
            f"(voucher {vouchers}); a record is written once"
        )
    written = []
    for a in todo:
        record = {
            "kind": "returned_funds_remitted",
            "version": 1,
            "run_id": a.run_id,
            "period": a.period,
            "answer": a.folder,
            "bank_name": a.bank_name,
            "failed_lines": a.failed_lines,
            "amount": f"{a.returned:.2f}",
            "voucher": voucher.strip(),
            "remitted_on": remitted_on,
            "recorded_by": by.strip(),
            "recorded_at": now_local(),
            "note": note,
        }
        try:
            write_once(
                _record_path(county_dir, a.run_id, a.folder), record, "remittance record", "record it again"
            )
        except FileExistsError:  # another clerk recorded it in the meantime
            raise UsageError(
                f"the money of the answer {a.folder} to {a.run_id} was recorded as handed back by someone "
                "else just now; list it with subsidy returned-funds"
            ) from None
        written.append(record)
    return written


def _read(path: Path) -> dict[str, Any]:
    record = text_fields(read_record(path, DAMAGED), path, _TEXT, DAMAGED)
    try:
        Decimal(record["amount"])
    except ArithmeticError:
        raise damaged(path, f'"amount" {record["amount"]!r} is not an amount', DAMAGED) from None
    return record


def returned_funds(county_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every recorded answer of the county that failed a line, in period, run and answer order: the money
    it returned, and the voucher that handed it back or null; and the totals (returned, handed back, still
    to hand back). VerifyError for a damaged answer or record, or a record of an answer no longer there."""
    rows: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for root in sorted(p for p in county_dir.glob(f"*{ANSWERS_SUFFIX}/*") if p.is_dir()):
        for path in record_paths(root):
            a = _answer(path, root.name)
            if not a.failed_lines:
                continue
            where = _record_path(county_dir, a.run_id, a.folder)
            seen.add(where)
            r = _read(where) if where.exists() else None
            if r is not None and Decimal(r["amount"]) != a.returned:
                raise damaged(
                    where,
                    f"it records {r['amount']} yuan, the answer {a.folder} returned {a.returned:.2f}",
                    DAMAGED,
                )
            rows.append(
                {
                    "period": a.period,
                    "run_id": a.run_id,
                    "answer": a.folder,
                    "bank_name": a.bank_name,
                    "imported_at": a.imported_at,
                    "failed_lines": a.failed_lines,
                    "returned": f"{a.returned:.2f}",
                    **{k: None if r is None else r[k] for k in ("voucher", "remitted_on", "recorded_by")},
                }
            )
    for where in sorted((county_dir / REMITTED_DIR).glob("*/*.json")):
        if where not in seen:
            raise damaged(
                where,
                f"it records money handed back from an answer that is not recorded under {county_dir} "
                f"({where.parent.name}/{where.stem}/{RECORD})",
                "restore the answer's folder from a backup (never delete either), then list again",
            )
    returned = sum((Decimal(r["returned"]) for r in rows), Decimal("0.00"))
    handed = sum((Decimal(r["returned"]) for r in rows if r["voucher"] is not None), Decimal("0.00"))
    totals = {
        "answers": len(rows),
        "returned": f"{returned:.2f}",
        "remitted": f"{handed:.2f}",
        "not_remitted": f"{returned - handed:.2f}",
    }
    return rows, totals
