"""Apply a checked death list to the month's roster before anything is computed, and say for every
listed person what the list changed (deaths.parquet).

A person on the list is dead from the earlier of the list's date and the roster's. The outcome is one
of OUTCOMES; the CONFLICTS (roster_alive, roster_later, roster_earlier) are where the roster says otherwise,
reported, never silently resolved the other way; not_on_roster and roster_rejected are reported too. A
death applied here stays a death in every later month (Ledger.listed_dead, apply_listed_deaths).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.ledger.record import DEATHS_PARQUET as DEATHS_PARQUET
from subsidy_batch.money import fen_text
from subsidy_batch.period import Period
from subsidy_batch.roster.deaths import DeathList
from subsidy_batch.roster.validate import Validated
from subsidy_batch.rules.compute import alive_in, line_items
from subsidy_batch.rules.config import CountyConfig

OUTCOMES = (
    "confirmed",  # the roster has the same date
    "roster_alive",  # the roster has no date: the list's is used
    "roster_later",  # the roster has a later date: the list's (earlier) is used
    "roster_earlier",  # the roster has an earlier date: the roster's is kept
    "not_on_roster",  # no accepted row of this month's roster (paid months after death still recovered)
    "roster_rejected",  # the person's roster row was rejected this month (so is not paid either)
)
CONFLICTS = ("roster_alive", "roster_later", "roster_earlier")


def apply_deaths(people: pl.DataFrame, deaths: DeathList) -> pl.DataFrame:
    """The accepted roster with death_date := the earliest of the roster's and the list's; order kept."""
    listed = deaths.people
    list_date = pl.col("id_number").replace_strict(
        listed.get_column("id_number"),
        listed.get_column("list_death_date"),
        default=None,
        return_dtype=pl.Date,
    )
    return people.with_columns(death_date=pl.min_horizontal("death_date", list_date))


def apply_listed_deaths(validated: Validated, listed_dead: pl.DataFrame) -> tuple[Validated, int]:
    """The accepted roster with death_date := the earliest of the roster's and the one a prior run's death
    list applied (Ledger.listed_dead); and how many people that made dead earlier than the roster says."""
    people = validated.accepted
    earlier = pl.col("id_number").replace_strict(
        listed_dead.get_column("id_number"),
        listed_dead.get_column("death_date"),
        default=None,
        return_dtype=pl.Date,
    )
    changed = people.select(
        (earlier.is_not_null() & (pl.col("death_date").is_null() | (earlier < pl.col("death_date")))).sum()
    ).item()
    if not changed:
        return validated, 0
    return replace(
        validated, accepted=people.with_columns(death_date=pl.min_horizontal("death_date", earlier))
    ), int(changed)


def outcomes(
    before: pl.DataFrame,
    deaths: DeathList,
    rejected_ids: pl.Series,
    config: CountyConfig,
    period: Period,
) -> pl.DataFrame:
    """One row per listed person: the dates, the date used, the outcome, whether this month's payment
    stops because of the list, and what it would have paid (stopped_amount_fen). `before` is the
    accepted roster as read, before the list was applied; `rejected_ids` the IDs of its rejected rows."""
    roster = before.select(
        "id_number",
        roster_name=pl.col("name"),
        roster_death_date=pl.col("death_date"),
        on_roster=pl.lit(True),
    )
    rejected = rejected_ids.drop_nulls().str.strip_chars().str.to_uppercase().unique()
    found = deaths.people.join(roster, on="id_number", how="left").sort("id_number")
    listed, kept = pl.col("list_death_date"), pl.col("roster_death_date")
    on_roster = pl.col("on_roster").fill_null(False)
    found = found.with_columns(
        death_date_used=pl.min_horizontal(listed, kept),
        outcome=pl.when(~on_roster & pl.col("id_number").is_in(rejected.implode()))
        .then(pl.lit("roster_rejected"))
        .when(~on_roster)
        .then(pl.lit("not_on_roster"))
        .when(kept.is_null())
        .then(pl.lit("roster_alive"))
        .when(kept == listed)
        .then(pl.lit("confirmed"))
        .when(kept > listed)
        .then(pl.lit("roster_later"))
        .otherwise(pl.lit("roster_earlier")),
        name_matches=pl.when(on_roster).then(pl.col("name") == pl.col("roster_name")),
    ).with_columns(
        conflict=pl.col("outcome").is_in(CONFLICTS),
        stops_this_month=on_roster
        & alive_in(period, config, kept)
        & ~alive_in(period, config, pl.col("death_date_used")),
    )
    stopping = found.filter(pl.col("stops_this_month")).get_column("id_number")
    stopped = pl.DataFrame(schema={"id_number": pl.String, "stopped_amount_fen": pl.Int64})
    if stopping.len():  # this month's items as the roster alone would have paid them (few people)
        would_pay = line_items(before.filter(pl.col("id_number").is_in(stopping.implode())), config, period)
        stopped = (
            would_pay.filter(pl.col("status") == "paid")
            .group_by("id_number")
            .agg(stopped_amount_fen=pl.col("amount_fen").sum().cast(pl.Int64))
        )
    return (
        found.join(stopped, on="id_number", how="left")
        .with_columns(
            stopped_amount_fen=pl.when(pl.col("stops_this_month")).then(
                pl.col("stopped_amount_fen").fill_null(0)
            )
        )
        .sort("id_number")
    )


def with_recoveries(found: pl.DataFrame, owed_back: pl.DataFrame) -> pl.DataFrame:
    """recovery_amount_fen: what the person's outstanding recoveries add up to after this run (the
    months paid after death by accepted runs; null when none)."""
    owed = (
        owed_back.filter(pl.col("status") == "outstanding")
        .group_by("id_number")
        .agg(recovery_amount_fen=pl.col("amount_fen").sum(), recovery_months=pl.len().cast(pl.Int32))
    )
    return found.join(owed, on="id_number", how="left").sort("id_number")


def death_totals(deaths: DeathList, found: pl.DataFrame) -> dict[str, Any]:
    """The manifest's totals.deaths: rows in = applied + rejected, people by outcome, stops, recoveries."""
    by_outcome = dict(found.group_by("outcome").len().iter_rows())
    stops = found.filter(pl.col("stops_this_month"))
    return {
        "rows_read": deaths.rows_read,
        "rows_applied": deaths.rows_applied,
        "rows_rejected": deaths.rows_rejected,
        "rejection_problems": deaths.rejected.height,
        "people": found.height,
        "by_outcome": {o: int(by_outcome.get(o, 0)) for o in OUTCOMES},
        "conflicts": int(found.get_column("conflict").sum()),
        "stop_this_month": stops.height,
        # of them, those this month would have paid something (a person whose items are all held stops too)
        "stop_with_payment": int((stops.get_column("stopped_amount_fen").fill_null(0) > 0).sum()),
        "stopped_amount": fen_text(int(stops.get_column("stopped_amount_fen").sum())),
        "with_recoveries": int(found.get_column("recovery_amount_fen").is_not_null().sum()),
        "recovery_amount": fen_text(int(found.get_column("recovery_amount_fen").fill_null(0).sum())),
    }


DEATHS_REJECTED = "deaths_rejected.parquet"


def death_progress(deaths: DeathList, totals: dict[str, Any]) -> str:
    """The terminal's line on the death list: counts only, never an ID."""
    shown = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in totals["by_outcome"].items() if n)
    line = (
        f"death list {deaths.source}: {deaths.rows_read} rows, {deaths.rows_applied} applied, "
        f"{deaths.rows_rejected} rejected (see {DEATHS_REJECTED}); {totals['people']} people"
        + (f" ({shown})" if shown else "")
        + f"; {totals['stop_this_month']} stop this month ({totals['stop_with_payment']} with a payment due: "
        f"{totals['stopped_amount']} yuan not paid)"
    )
    if totals["with_recoveries"]:
        line += f"; {totals['with_recoveries']} paid after death: {totals['recovery_amount']} yuan to recover"
    return line


def reconcile_deaths(staging: Path, deaths: DeathList) -> list[str]:
    """Read the written death files back: rows in = applied + rejected, one row per listed person."""
    written = pl.read_parquet(staging / DEATHS_PARQUET, columns=["id_number", "list_row_count"])
    rejected = pl.read_parquet(staging / DEATHS_REJECTED, columns=["row"])
    applied = int(written.get_column("list_row_count").sum() or 0)
    problems = []
    if applied + rejected.get_column("row").n_unique() != deaths.rows_read:
        problems.append(
            f"death list: {deaths.rows_read} rows read, but {applied} applied and "
            f"{rejected.get_column('row').n_unique()} rejected in the written files"
        )
    if written.height != deaths.people.height or written.get_column("id_number").is_duplicated().any():
        problems.append(f"{DEATHS_PARQUET} does not hold each listed person exactly once")
    return problems
