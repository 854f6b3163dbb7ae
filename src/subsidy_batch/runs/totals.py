"""The totals a payment run states, and the read-back of its written files that must agree with them.

Both kinds of run (monthly, facilities) pay line items through payments into bank files, so both state
and check their totals here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.money import fen_text, fen_to_yuan
from subsidy_batch.outputs import bank
from subsidy_batch.rules.compute import HOLD_REASONS


def item_totals(items: pl.DataFrame, benefits: list[str]) -> dict[str, Any]:
    """Paid and held counts and amounts of line items, overall, by hold reason and by benefit.

    Every benefit named keeps its row in reports, even with nothing paid. The amount held for a reason is
    None (the manifest's null) when an item held for it has no amount (the standard is not set): an
    unknown sum, never a silent 0. One aggregation over the few columns needed: filtering the whole item
    frame would copy its text.
    """
    counts = (
        items.lazy()
        .group_by("benefit", "status", "hold_reason")
        .agg(n=pl.len(), fen=pl.col("amount_fen").sum(), unset=pl.col("amount_fen").null_count())
        .collect()
        .rows(named=True)
    )
    paid = [c for c in counts if c["status"] == "paid"]
    by_benefit = {}
    for benefit in benefits:
        of_benefit = [c for c in counts if c["benefit"] == benefit]
        paid_b = [c for c in of_benefit if c["status"] == "paid"]
        by_benefit[benefit] = {
            "paid_items": sum(c["n"] for c in paid_b),
            "paid_amount": fen_text(sum(c["fen"] for c in paid_b)),
            "held_items": sum(c["n"] for c in of_benefit) - sum(c["n"] for c in paid_b),
        }
    return {
        "line_items": items.height,
        "paid_items": sum(c["n"] for c in paid),
        "paid_amount": fen_text(sum(c["fen"] for c in paid)),
        "held_items": sum(c["n"] for c in counts if c["status"] == "held"),
        "held_items_by_reason": {
            reason: sum(c["n"] for c in counts if c["status"] == "held" and c["hold_reason"] == reason)
            for reason in HOLD_REASONS
        },
        "held_amount_by_reason": {reason: _held_amount(counts, reason) for reason in HOLD_REASONS},
        "by_benefit": by_benefit,
    }


def _held_amount(counts: list[dict[str, Any]], reason: str) -> str | None:
    held = [c for c in counts if c["status"] == "held" and c["hold_reason"] == reason]
    if any(c["unset"] for c in held):
        return None
    return fen_text(sum(c["fen"] for c in held))


def reconcile(
    staging: Path,
    rows: tuple[int, int, int],
    totals: dict[str, Any],
    bank_files: list[bank.BankFile],
    encoding: str,
) -> list[str]:
    """Re-read what was written and list every total that disagrees (none: the run may be accepted).

    rows = (read, accepted, rejected); totals holds paid_amount, paid_items and by_benefit.
    """
    problems = []
    if rows[0] != rows[1] + rows[2]:
        problems.append(f"rows read {rows[0]} != rows accepted {rows[1]} + rows rejected {rows[2]}")
    items = pl.read_parquet(staging / "line_items.parquet", columns=["benefit", "status", "amount"])
    items = items.select(pl.col("benefit", "amount").filter(pl.col("status") == "paid"))
    pays = pl.read_parquet(staging / "payments.parquet", columns=["amount", "items"])
    paid_items = items.get_column("amount").sum() or Decimal(0)
    paid_people = pays.get_column("amount").sum() or Decimal(0)
    bank_total = Decimal(0)
    bank_count = 0
    # the files read side by side (polars parses without the interpreter), checked in their order
    with ThreadPoolExecutor(max_workers=2) as pool:
        read_back = list(
            pool.map(
                lambda bf: bank.read_bank_file(bf.path, encoding, text_fields=False, layout=bf.layout),
                bank_files,
            )
        )
    for bf, (control, details) in zip(bank_files, read_back, strict=True):
        lines_total = fen_to_yuan(int(details.get_column("amount_fen").sum()))
        if control["items"] != details.height or control["total"] != lines_total:
            problems.append(f"{bf.path.name}: control record disagrees with its detail records")
        bank_total += Decimal(str(control["total"]))
        bank_count += int(str(control["items"]))
    expected = Decimal(totals["paid_amount"])
    if not paid_items == paid_people == bank_total == expected:
        problems.append(
            f"paid line items {paid_items} / payments {paid_people} / bank files {bank_total} / totals {expected}"
        )
    if bank_count != pays.height or pays.get_column("items").sum() != totals["paid_items"]:
        problems.append("payee or item counts differ between payments and bank files")
    written = dict(items.group_by("benefit").agg(pl.col("amount").sum()).iter_rows())
    for benefit, facts in totals["by_benefit"].items():
        got = written.get(benefit)
        if Decimal(got or 0) != Decimal(facts["paid_amount"]):
            problems.append(f"benefit {benefit}: written {got} != computed {facts['paid_amount']}")
    return problems


def outputs(rows: dict[str, int], bank_files: list[bank.BankFile]) -> list[dict[str, Any]]:
    """Every output file with its row count (the lifecycle adds each one's sha256), for the manifest."""
    out: list[dict[str, Any]] = [{"file": name, "rows": n} for name, n in rows.items()]
    out += [
        {
            "file": f"bank/{bf.path.name}",
            "rows": bf.items,
            "bank_name": bf.bank_name,
            "total": fen_text(bf.total_fen),
        }
        for bf in bank_files
    ]
    return out
