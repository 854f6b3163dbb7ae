"""What a month's run states about the record: its change list against the previous period, the banks'
answers it read, and the ledger's totals for the manifest."""

from __future__ import annotations

from typing import Any

import polars as pl

from subsidy_batch.ledger.changes import CHANGES, changes
from subsidy_batch.ledger.record import Ledger
from subsidy_batch.money import fen_text
from subsidy_batch.period import Period
from subsidy_batch.rules.config import CountyConfig


def month_changes(
    regular: pl.DataFrame,
    ledger: Ledger,
    validated: Any,
    config: CountyConfig,
    period: Period,
    supplement: bool,
) -> tuple[pl.DataFrame, str | None]:
    """This month's changes against the previous accepted period (for a supplement: its own period)."""
    regulars = ledger.items.filter(pl.col("kind") == "regular")
    months = sorted(set(regulars.get_column("for_period").to_list()))
    before = [m for m in months if (m <= str(period) if supplement else m < str(period))]
    if not before:
        return changes(
            regular,
            regulars.clear(),
            regulars.select("id_number", "benefit").clear(),
            validated.accepted,
            validated.rejected.get_column("id_number"),
            config,
            period,
        ), None
    last = before[-1]
    return (
        changes(
            regular,
            regulars.filter(pl.col("for_period") == last),
            ledger.items.filter(pl.col("for_period") < last).select("id_number", "benefit"),
            validated.accepted,
            validated.rejected.get_column("id_number"),
            config,
            period,
        ),
        last,
    )


def answers_summary(answered: list[pl.DataFrame]) -> tuple[dict[str, Any], ...]:
    """Per answered run and bank: lines that succeeded and failed, their amounts, failures by reason."""
    if not answered:
        return ()
    lines = pl.concat(answered)
    out = []
    for (run_id, bank_name), group in lines.group_by("run_id", "bank_name", maintain_order=True):
        ok, failed = group.filter(pl.col("status") == "succeeded"), group.filter(pl.col("status") == "failed")
        out.append(
            {
                "run_id": run_id,
                "bank_name": bank_name,
                "succeeded": ok.height,
                "succeeded_amount": f"{ok.get_column('amount').sum() or 0:.2f}",
                "failed": failed.height,
                "failed_amount": f"{failed.get_column('amount').sum() or 0:.2f}",
                "failed_by_reason": dict(sorted(failed.group_by("reason").len().iter_rows())),
            }
        )
    return tuple(sorted(out, key=lambda a: (str(a["run_id"]), str(a["bank_name"]))))


def ledger_totals(
    items: pl.DataFrame,
    change_list: pl.DataFrame,
    owed_back: pl.DataFrame,
    previous: str | None,
    ledger: Ledger,
) -> dict[str, Any]:
    arrears_items = items.filter(pl.col("kind") == "arrears", pl.col("status") == "paid")
    reissued = items.filter(pl.col("kind") == "reissue")
    counts = dict(change_list.group_by("change").len().iter_rows())
    returns: dict[str, Any] = {}
    if ledger.returned.height:  # only then, so that runs without bank answers keep their totals
        paid_again = reissued.filter(pl.col("status") == "paid")
        returns = {
            "bank_returns": {
                "failed_lines_read": ledger.returned.height,
                "by_reason": dict(sorted(ledger.returned.group_by("reason").len().iter_rows())),
                "reissued_items": paid_again.height,
                "reissued_amount": fen_text(int(paid_again.get_column("amount_fen").sum() or 0)),
                "held_items": reissued.height - paid_again.height,  # returned, details still as sent
                "by_bank": list(ledger.answers),
            }
        }
        # failed lines whose name and account a clerk confirmed since (subsidy confirm-account), or that
        # a bank paid in a later run's answer: only when there are any, so that runs made before either
        # existed keep their totals and still verify
        for key, column in (("confirmed_lines", "confirmed"), ("paid_since_lines", "paid_since")):
            if count := int(ledger.returned.get_column(column).sum()):
                returns["bank_returns"][key] = count
    return returns | {
        "previous_period": previous,
        "changes": {change: int(counts.get(change, 0)) for change in CHANGES},
        "arrears_items": arrears_items.height,
        "arrears_amount": fen_text(int(arrears_items.get_column("amount_fen").sum() or 0)),
        "recoveries_outstanding": owed_back.filter(pl.col("status") == "outstanding").height,
        "recoveries_amount": fen_text(
            int(owed_back.filter(pl.col("status") == "outstanding").get_column("amount_fen").sum() or 0)
        ),
    }
