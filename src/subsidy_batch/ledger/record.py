"""The ledger: every line item of a county's accepted monthly runs and supplements, read lazily from
their line_items.parquet. Runs made before line items carried `kind` and `for_period` paid only
regular items for their own period."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.outputs.emit import sha256_file
from subsidy_batch.period import Period
from subsidy_batch.runs.records import DAMAGED, MANIFEST, damaged

LEDGER_SCHEMA = {
    "run_id": pl.String,
    "label": pl.String,  # the run's period key: 2024-05, 2024-05-s1
    "for_period": pl.String,  # the month the item pays for
    "kind": pl.String,  # regular / arrears / reissue
    "id_number": pl.String,
    "name": pl.String,
    "township": pl.String,
    "benefit": pl.String,
    "status": pl.String,
    "hold_reason": pl.String,
    "amount_fen": pl.Int64,
    "rule": pl.String,
    "age": pl.Int32,
}
# a failed line of a bank's answer (returns/record.py), as the ledger reads it
RETURNED_SCHEMA = {
    "run_id": pl.String,  # the run whose bank file the line was in
    "id_number": pl.String,
    "sent_name": pl.String,
    "sent_account": pl.String,
    "reference": pl.String,
    "reason": pl.String,
    # a clerk confirmed since (subsidy confirm-account) that the name and account may be paid again
    "confirmed": pl.Boolean,
    # an answer to a later run says a line to the same ID, name and account succeeded
    "paid_since": pl.Boolean,
}


def answer_lines(answer: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The lines of a recorded bank answer to run `run_id` as the ledger reads them: the first six
    columns of RETURNED_SCHEMA, and the line's status (succeeded / failed)."""
    return answer.select(
        pl.lit(run_id).alias("run_id"),
        "id_number",
        pl.col("name").alias("sent_name"),
        pl.col("bank_account").alias("sent_account"),
        "reference",
        "reason",
        "status",
    )


RECOVERY_SCHEMA = {
    "id_number": pl.String,
    "name": pl.String,
    "township": pl.String,
    "benefit": pl.String,
    "for_period": pl.String,
    "amount_fen": pl.Int64,
    "paid_by_run": pl.String,  # the run (and bank batch) that paid the month
    "death_date": pl.Date,
    "found_in": pl.String,  # the period whose run first found it
    "status": pl.String,  # outstanding / refunded / bank_returned
}


@dataclass(frozen=True)
class Prior:
    """A prior accepted run as this run read it."""

    run_id: str
    label: str
    folder: Path
    # file -> sha256 of the run's outputs, from its manifest: every file the ledger reads is checked
    # against it first, so that an edited or damaged line_items.parquet is never taken as what was paid
    checksums: Mapping[str, str]
    # the run ids of the accepted runs this run read when it was made: every run accepted before it (a
    # run another has read is never superseded), so X was made before Y exactly when Y read X. Labels do
    # not give that order: a supplement of January may be made after February
    read: frozenset[str] = frozenset()

    def path(self, name: str) -> Path:
        """The run's output `name`, once it matches its manifest checksum; VerifyError (exit 9) naming it
        otherwise, never read as it is: an item cut out of it would be paid again."""
        path = self.folder / name
        if name not in self.checksums:
            raise damaged(self.folder / MANIFEST, f"it lists no {name}", DAMAGED)
        if not path.is_file():
            raise damaged(path, "the run's output is missing", OUTPUT_DAMAGED)
        if sha256_file(path) != self.checksums[name]:
            raise damaged(path, "it differs from the checksum its run's manifest holds", OUTPUT_DAMAGED)
        return path

    def has(self, name: str) -> bool:
        """The run made the output `name` (its manifest lists it)."""
        return name in self.checksums


OUTPUT_DAMAGED = (
    "a stored run's output was edited or damaged, so what it paid cannot be known: restore the run's "
    "folder from a backup (subsidy verify lists what differs)"
)


DEATHS_PARQUET = "deaths.parquet"  # a run's death-list outcomes (run --deaths), see ledger/deaths.py
LISTED_DEAD_SCHEMA = {"id_number": pl.String, "death_date": pl.Date, "run_id": pl.String}


@dataclass(frozen=True)
class Ledger:
    items: pl.DataFrame  # LEDGER_SCHEMA, every item of every prior run
    recoveries: pl.DataFrame  # RECOVERY_SCHEMA, as the latest prior run carried them forward
    first_period: Period | None  # the county's first month in the record (None: no prior run)
    trend: tuple[tuple[str, dict[str, Any]], ...] = ()  # (period, totals) of each prior month, for charts
    returned: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RETURNED_SCHEMA))
    answers: tuple[dict[str, Any], ...] = ()  # per answered run and bank: succeeded / failed counts, amounts
    refunded: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={k: pl.String for k in ("id_number", "benefit", "for_period", "paid_by_run")}
        )
    )
    # (id_number, death_date, run_id): the deaths that death lists given to prior runs (run --deaths)
    # applied, the earliest per person: a death a list once showed stays a death in every later month
    listed_dead: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LISTED_DEAD_SCHEMA))
    prior: tuple[Prior, ...] = ()  # the runs read, for the few payees' accounts a check asks about

    def payees(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """(run_id, id_number, bank_account) of the payees `wanted` names (run_id, id_number), from the
        payments.parquet of each run among them, each checked against its manifest first."""
        frames = [
            pl.scan_parquet(run.path("payments.parquet"))
            .select("id_number", "bank_account")
            .join(wanted.lazy().filter(pl.col("run_id") == run.run_id).select("id_number"), on="id_number")
            .select(pl.lit(run.run_id).alias("run_id"), "id_number", "bank_account")
            for run in self.prior
            if run.run_id in set(wanted.get_column("run_id").to_list())
        ]
        schema = {"run_id": pl.String, "id_number": pl.String, "bank_account": pl.String}
        return pl.concat(frames).collect() if frames else pl.DataFrame(schema=schema)

    @cached_property
    def paid(self) -> pl.DataFrame:
        """(id_number, benefit, for_period) of every paid item: what must never be paid again (worked out
        once per ledger: the arrears, reissues and the double-payment guard all ask)."""
        return (
            self.items.filter(pl.col("status") == "paid")
            .select("id_number", "benefit", "for_period")
            .unique()
        )

    def paid_keys(self) -> pl.DataFrame:
        return self.paid


def read_ledger(prior: list[Prior], returned: pl.DataFrame | None = None) -> Ledger:
    """The items of the prior runs (returned: the failed lines of the bank answers this run read)."""
    frames = []
    for run in prior:
        scan = pl.scan_parquet(run.path("line_items.parquet"))
        names = scan.collect_schema().names()
        frames.append(
            scan.select(
                pl.lit(run.run_id).alias("run_id"),
                pl.lit(run.label).alias("label"),
                (pl.col("for_period") if "for_period" in names else pl.col("period")).alias("for_period"),
                (pl.col("kind") if "kind" in names else pl.lit("regular")).alias("kind"),
                "id_number",
                "name",
                "township",
                "benefit",
                "status",
                "hold_reason",
                (pl.col("amount") * 100).cast(pl.Int64).alias("amount_fen"),  # decimal(18,2): exact
                "rule",
                "age",
            )
        )
    items = pl.concat(frames).collect() if frames else pl.DataFrame(schema=LEDGER_SCHEMA)
    if returned is not None and returned.height:
        # a failed bank line pays nothing: every item it carried (the person's paid items of that run) is
        # `returned`, not paid, so it may be paid again, once, as a reissue
        failed = returned.select("run_id", "id_number").unique().with_columns(failed=pl.lit(True))
        items = (
            items.join(failed, on=["run_id", "id_number"], how="left")
            .with_columns(
                status=pl.when(pl.col("failed") & (pl.col("status") == "paid"))
                .then(pl.lit("returned"))
                .otherwise(pl.col("status"))
            )
            .drop("failed")
        )
    listed = [
        pl.scan_parquet(run.path(DEATHS_PARQUET)).select(
            "id_number", pl.col("death_date_used").alias("death_date"), pl.lit(run.run_id).alias("run_id")
        )
        for run in prior
        if run.has(DEATHS_PARQUET)
    ]
    listed_dead = (
        pl.concat(listed)
        .collect()
        .sort("death_date", "run_id")
        .unique("id_number", keep="first", maintain_order=True)
        if listed
        else pl.DataFrame(schema=LISTED_DEAD_SCHEMA)
    )
    recoveries = pl.DataFrame(schema=RECOVERY_SCHEMA)
    if prior:
        if prior[-1].has("recoveries.parquet"):
            recoveries = (
                pl.read_parquet(prior[-1].path("recoveries.parquet"))
                .with_columns((pl.col("amount") * 100).cast(pl.Int64).alias("amount_fen"))
                .select(*RECOVERY_SCHEMA)
            )
    first = min((Period.parse(r.label[:7]) for r in prior), default=None)
    return Ledger(
        items,
        recoveries,
        first,
        returned=returned if returned is not None else pl.DataFrame(schema=RETURNED_SCHEMA),
        listed_dead=listed_dead,
        prior=tuple(prior),
    )
