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

A record made in error (a voucher number mistyped, a 缴款书 the treasury sent back) is never edited or
deleted: `subsidy withdraw-remittance RUN_DIR --voucher NO --reason TEXT --by NAME` adds a withdrawal after
it, and the answer is still to be handed back until a new record covers it. An answer's records are a
chain, each written once: <answer folder>.json, then <answer folder>.2.json, .3.json, ..., a record of the
money handed back and its withdrawal taking turns; the last one says whether the money is handed back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.returns.record import RECORD, RETURNS, read_answer, read_answer_record, record_paths
from subsidy_batch.runs.manifest import SHANGHAI, Manifest, load, now_local
from subsidy_batch.runs.records import damaged, read_record, text_fields, write_once
from subsidy_batch.runs.store import ANSWERS_SUFFIX, MANIFEST, answers_dir, county_dir_of

REMITTED_DIR = "remitted"
REMITTED = "returned_funds_remitted"
WITHDRAWN = "returned_funds_remittance_withdrawn"
# the text every record of the chain holds, by its kind (odd places hold REMITTED, even ones WITHDRAWN)
_TEXT = {
    REMITTED: ("run_id", "period", "answer", "amount", "voucher", "remitted_on", "recorded_by"),
    WITHDRAWN: ("run_id", "period", "answer", "amount", "voucher", "reason", "recorded_by", "recorded_at"),
}
# Refusing is right: a record skipped would list money handed back as still to be handed back, and a
# second voucher could be drawn for it.
DAMAGED = (
    "it is an accepted record of returned money handed back to the treasury: restore it from a backup "
    "(never delete it), then list again"
)

_NO_LINES = pl.DataFrame(schema=RETURNS | {"answer": pl.String, "voucher": pl.String})


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
    lines: pl.DataFrame = field(compare=False, repr=False)  # its failed lines (returns.parquet's columns)


class Returned(NamedTuple):
    """What returned_funds lists: one row per answer that failed a line, the county's totals, and every
    failed line of those answers (returns.parquet's columns, then `answer` and the covering `voucher`)."""

    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    lines: pl.DataFrame


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
        lines=failed,
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


# an answer's records in the order written, each with its file
Chain = list[tuple[Path, dict[str, Any]]]


def _chain_path(county_dir: Path, a: Answer, place: int) -> Path:
    """Where the record at `place` (1, 2, ...) of the answer's chain is kept."""
    name = f"{a.folder}.json" if place == 1 else f"{a.folder}.{place}.json"
    return county_dir / REMITTED_DIR / a.run_id / name


def _chain(county_dir: Path, a: Answer) -> Chain:
    """The answer's records in the order written, each checked: the kind its place holds, the answer it
    sits under, the amount the answer returned, a withdrawal naming the voucher it withdraws. VerifyError
    for the first that is not right."""
    chain: Chain = []
    while (path := _chain_path(county_dir, a, len(chain) + 1)).exists():
        kind = REMITTED if len(chain) % 2 == 0 else WITHDRAWN
        record = text_fields(read_record(path, DAMAGED), path, _TEXT[kind], DAMAGED)
        if record.get("kind") != kind:
            raise damaged(
                path, f'"kind" is {record.get("kind")!r}, and its place in the chain holds {kind!r}', DAMAGED
            )
        if (record["run_id"], record["answer"]) != (a.run_id, a.folder):
            raise damaged(
                path,
                f"it records the answer {record['answer']} to {record['run_id']}, and it is kept as one of the "
                f"answer {a.folder} to {a.run_id}",
                DAMAGED,
            )
        try:
            amount = Decimal(record["amount"])
        except ArithmeticError:
            raise damaged(path, f'"amount" {record["amount"]!r} is not an amount', DAMAGED) from None
        if amount != a.returned:
            raise damaged(
                path,
                f"it records {record['amount']} yuan, the answer {a.folder} returned {a.returned:.2f}",
                DAMAGED,
            )
        if kind == WITHDRAWN and record["voucher"] != chain[-1][1]["voucher"]:
            raise damaged(
                path,
                f"it withdraws voucher {record['voucher']}, and the record before it is of voucher "
                f"{chain[-1][1]['voucher']}",
                DAMAGED,
            )
        chain.append((path, record))
    return chain


def _covering(chain: Chain) -> dict[str, Any] | None:
    """The record that hands the answer's money back, or None: no record yet, or the last one withdrawn."""
    return chain[-1][1] if len(chain) % 2 == 1 else None


def _written(county_dir: Path, a: Answer, place: int, record: dict[str, Any], what: str) -> None:
    """Write the record at its place in the chain; UsageError when someone else wrote that place first."""
    try:
        write_once(_chain_path(county_dir, a, place), record, what, "record it again")
    except FileExistsError:  # another clerk recorded it in the meantime
        raise UsageError(
            f"the money of the answer {a.folder} to {a.run_id} was recorded by someone else just now; list it "
            "with subsidy returned-funds, then record again if it is still needed"
        ) from None


def _failed_answers(run_dir: Path) -> tuple[Path, Manifest, list[tuple[Answer, Chain]]]:
    """The run's county folder, manifest and recorded answers that failed a line, each with its chain of
    records; UsageError when run_dir is not a stored run or no answer to it failed a line."""
    if not (run_dir / MANIFEST).is_file():
        raise UsageError(
            f"{run_dir} is not a stored run (it holds no {MANIFEST}); name the run whose bank answer failed lines"
        )
    manifest = load(run_dir)
    county_dir = county_dir_of(run_dir)
    paths = record_paths(answers_dir(county_dir, manifest.period, manifest.run_id))
    answers = [a for a in (_answer(p, manifest.run_id) for p in paths) if a.failed_lines]
    if not answers:
        raise UsageError(
            f"no bank answer recorded for {manifest.run_id} ({run_dir}) failed a line, so no money came back "
            "from it (subsidy returned-funds lists the answers that did)"
        )
    return county_dir, manifest, [(a, _chain(county_dir, a)) for a in answers]


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
    county_dir, manifest, chains = _failed_answers(run_dir)
    made = manifest.created_at[:10]
    if remitted_on < made:  # ISO dates compare as text
        raise UsageError(
            f"--on {remitted_on} is before {manifest.run_id} was made ({made}): its money cannot have come back "
            "from the bank yet; give the day on the voucher"
        )
    todo = [(a, chain) for a, chain in chains if _covering(chain) is None]
    if not todo:
        vouchers = ", ".join(
            sorted({c["voucher"] for _, chain in chains if (c := _covering(chain)) is not None})
        )
        raise UsageError(
            f"the money every bank answer to {manifest.run_id} returned is recorded as handed back already "
            f"(voucher {vouchers}); a record is written once (subsidy withdraw-remittance withdraws one made in "
            "error)"
        )
    written = []
    for a, chain in todo:
        record = {
            "kind": REMITTED,
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
        _written(county_dir, a, len(chain) + 1, record, "remittance record")
        written.append(record)
    return written


def withdraw_remittance(run_dir: Path, voucher: str, by: str, reason: str) -> list[dict[str, Any]]:
    """Withdraw the records that `voucher` handed back the money of answers to run_dir (a voucher number
    mistyped, a 缴款书 the treasury sent back): one withdrawal after each, returned in answer order. The
    records stay; the money is listed as still to hand back until a new record covers it. UsageError when
    no answer to the run is recorded as handed back by that voucher."""
    if not by.strip():
        raise UsageError('--by needs the name of the person who withdraws it, e.g. --by "王会计"')
    if not reason.strip():
        raise UsageError(
            "--reason needs why the record is withdrawn, e.g. --reason 凭证号录错 (an auditor reads it beside the "
            "record)"
        )
    county_dir, manifest, chains = _failed_answers(run_dir)
    wanted = voucher.strip()
    todo = [(a, chain) for a, chain in chains if (_covering(chain) or {}).get("voucher") == wanted]
    if not todo:
        standing = sorted({c["voucher"] for _, chain in chains if (c := _covering(chain)) is not None})
        raise UsageError(
            f"no money the bank answers to {manifest.run_id} returned is recorded as handed back by voucher "
            f"{wanted!r}; "
            + (
                f"the vouchers recorded for it: {', '.join(standing)}"
                if standing
                else "none of it is recorded as handed back"
            )
        )
    written = []
    for a, chain in todo:
        withdrawn = chain[-1][1]
        record = {
            "kind": WITHDRAWN,
            "version": 1,
            "run_id": a.run_id,
            "period": a.period,
            "answer": a.folder,
            "amount": withdrawn["amount"],
            "voucher": withdrawn["voucher"],
            "withdraws": chain[-1][0].name,
            "remitted_on": withdrawn["remitted_on"],
            "reason": reason.strip(),
            "recorded_by": by.strip(),
            "recorded_at": now_local(),
        }
        _written(county_dir, a, len(chain) + 1, record, "remittance withdrawal")
        written.append(record)
    return written


def returned_funds(county_dir: Path) -> Returned:
    """Every recorded answer of the county that failed a line, in period, run and answer order: the money
    it returned, and the voucher that handed it back or null; the totals (returned, handed back, still to
    hand back); and the failed lines, in the same order and each answer's own. VerifyError for a damaged
    answer or record, or a record of an answer no longer there."""
    rows: list[dict[str, Any]] = []
    lines: list[pl.DataFrame] = []
    seen: set[Path] = set()
    for root in sorted(p for p in county_dir.glob(f"*{ANSWERS_SUFFIX}/*") if p.is_dir()):
        for path in record_paths(root):
            a = _answer(path, root.name)
            if not a.failed_lines:
                continue
            chain = _chain(county_dir, a)
            seen.update(where for where, _ in chain)
            r = _covering(chain)
            lines.append(
                a.lines.with_columns(
                    answer=pl.lit(a.folder), voucher=pl.lit(None if r is None else r["voucher"], pl.String)
                )
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
                    "withdrawn": [
                        {
                            "voucher": done["voucher"],
                            "remitted_on": done["remitted_on"],
                            "recorded_by": done["recorded_by"],
                            "withdrawn_by": undone["recorded_by"],
                            "withdrawn_at": undone["recorded_at"],
                            "reason": undone["reason"],
                        }
                        for (_, done), (_, undone) in zip(chain[0::2], chain[1::2], strict=False)
                    ],
                }
            )
    for where in sorted((county_dir / REMITTED_DIR).glob("*/*.json")):
        if where not in seen:
            raise damaged(
                where,
                "it records money handed back from an answer that is not recorded under "
                f"{county_dir}, or follows a record of the chain that is missing "
                f"({where.parent.name}/<answer>/{RECORD})",
                "restore what is missing from a backup (never delete a record), then list again",
            )
    returned = sum((Decimal(r["returned"]) for r in rows), Decimal("0.00"))
    handed = sum((Decimal(r["returned"]) for r in rows if r["voucher"] is not None), Decimal("0.00"))
    totals = {
        "answers": len(rows),
        "returned": f"{returned:.2f}",
        "remitted": f"{handed:.2f}",
        "not_remitted": f"{returned - handed:.2f}",
    }
    return Returned(rows, totals, pl.concat(lines) if lines else _NO_LINES)
