"""The change list (新增 / 停发 / 变更 / 补发 / 暂停 / 恢复): this month's regular items against the county's
previous accepted period, one row per (person, benefit) that changed."""

from __future__ import annotations

import polars as pl

from subsidy_batch.period import Period
from subsidy_batch.rules.compute import age_on, entitled_in, reference_date, targets
from subsidy_batch.rules.conditions import failure_message, test_expression
from subsidy_batch.rules.config import AGE, CountyConfig

CHANGES = ("new", "stopped", "amount_changed", "hold_released", "newly_held", "resumed")  # closed
STOP_REASONS = ("died", "left_roster", "no_longer_eligible")  # closed
CHANGE_SCHEMA = {
    "id_number": pl.String,
    "name": pl.String,
    "township": pl.String,
    "benefit": pl.String,
    "change": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "old_amount_fen": pl.Int64,
    "new_amount_fen": pl.Int64,
    "old_status": pl.String,
    "new_status": pl.String,
    "old_rule": pl.String,
    "new_rule": pl.String,
}


def _by_person_benefit(items: pl.DataFrame) -> pl.DataFrame:
    """One row per (person, benefit): paid if any item paid (a supplement may pay what the run held)."""
    return (
        items.sort("id_number", "benefit", pl.col("status") != "paid")
        .group_by("id_number", "benefit", maintain_order=True)
        .agg(pl.col("status", "amount_fen", "rule", "name", "township").first())
    )


def changes(
    current: pl.DataFrame,
    previous: pl.DataFrame,
    earlier: pl.DataFrame,
    people: pl.DataFrame,
    rejected_ids: pl.Series,
    config: CountyConfig,
    period: Period,
) -> pl.DataFrame:
    """current: this run's regular items; previous: the previous period's regular items (from every run
    that paid it); earlier: (id_number, benefit) seen in any month before that, for `resumed`;
    people: this month's accepted rows (typed); rejected_ids: ID numbers of this month's rejected rows."""
    if previous.height == 0 and earlier.height == 0:  # the first month in the record: every item is new
        return current.select(
            "id_number",
            "name",
            "township",
            "benefit",
            change=pl.lit("new"),
            reason=pl.lit(None, pl.String),
            detail=pl.lit(None, pl.String),
            old_amount_fen=pl.lit(None, pl.Int64),
            new_amount_fen="amount_fen",
            old_status=pl.lit(None, pl.String),
            new_status="status",
            old_rule=pl.lit(None, pl.String),
            new_rule="rule",
        )  # line items are in (ID number, benefit) order already
    old = _by_person_benefit(previous).rename(
        {
            "status": "old_status",
            "amount_fen": "old_amount_fen",
            "rule": "old_rule",
            "name": "old_name",
            "township": "old_township",
        }
    )
    new = _by_person_benefit(current).rename(
        {"status": "new_status", "amount_fen": "new_amount_fen", "rule": "new_rule"}
    )
    joined = new.join(old, on=["id_number", "benefit"], how="full", coalesce=True).join(
        earlier.unique().with_columns(seen_before=pl.lit(True)), on=["id_number", "benefit"], how="left"
    )
    sent = pl.col("old_status").is_in(["paid", "returned"])  # returned: sent, and the bank's answer failed
    change = (
        pl.when(pl.col("old_status").is_null())
        .then(pl.when(pl.col("seen_before")).then(pl.lit("resumed")).otherwise(pl.lit("new")))
        .when(pl.col("new_status").is_null())
        .then(pl.lit("stopped"))
        .when(sent & (pl.col("new_status") == "held"))
        .then(pl.lit("newly_held"))
        .when((pl.col("old_status") == "held") & (pl.col("new_status") == "paid"))
        .then(pl.lit("hold_released"))
        .when(sent & (pl.col("old_amount_fen") != pl.col("new_amount_fen")))
        .then(pl.lit("amount_changed"))
    )
    listed = (
        joined.with_columns(change=change)
        .filter(pl.col("change").is_not_null())
        .with_columns(
            name=pl.coalesce("name", "old_name"),
            township=pl.coalesce("township", "old_township"),
        )
    )
    stopped = _why_stopped(listed.filter(pl.col("change") == "stopped"), people, rejected_ids, config, period)
    return (
        listed.join(stopped, on=["id_number", "benefit"], how="left")
        .select(*CHANGE_SCHEMA)
        .sort("id_number", "benefit")
    )


def _why_stopped(
    stopped: pl.DataFrame, people: pl.DataFrame, rejected_ids: pl.Series, config: CountyConfig, period: Period
) -> pl.DataFrame:
    """reason and detail for every stopped (person, benefit): died, left the roster, or a condition of
    the rule that paid last month no longer holds (named in the roster's words)."""
    if stopped.height == 0:
        return pl.DataFrame(
            schema={"id_number": pl.String, "benefit": pl.String, "reason": pl.String, "detail": pl.String}
        )
    ref = reference_date(period, config.age_basis)
    present = stopped.select("id_number", "benefit", "old_rule").join(people, on="id_number", how="left")
    on_roster = pl.col("birth_date").is_not_null()
    alive = entitled_in(period, config, people.columns)
    present = present.with_columns(
        on_roster=on_roster,
        alive=alive.fill_null(True),
        rejected=pl.col("id_number").is_in(rejected_ids.implode()),
        age=age_on(pl.col("birth_date"), ref),
    )
    by_name = {r.name: r for r in config.rules}
    target = targets(ref)
    fields = config.fields | {AGE.name: AGE}
    details: list[pl.DataFrame] = []
    eligible = present.filter(pl.col("on_roster") & pl.col("alive"))
    for rule_name, group in eligible.group_by("old_rule", maintain_order=True):
        rule = by_name.get(str(rule_name[0]))
        if rule is None or not rule.in_force(period):
            text = f"rule {rule_name[0]} is not in force in {period}"
            details.append(group.select("id_number", "benefit", detail=pl.lit(text)))
            continue
        failing = pl.lit(None, pl.String)
        for clause in reversed(rule.when.tests):  # the first clause that fails is named
            column = fields[clause.field]
            failing = (
                pl.when(~test_expression(clause, target(clause.field), column).fill_null(False))
                .then(failure_message(clause, column))
                .otherwise(failing)
            )
        details.append(
            group.select(
                "id_number",
                "benefit",
                detail=pl.coalesce(failing, pl.lit("no row of the benefit matches any more")),
            )
        )
    detail_frame = (
        pl.concat(details)
        if details
        else pl.DataFrame(schema={"id_number": pl.String, "benefit": pl.String, "detail": pl.String})
    )
    return (
        present.join(detail_frame, on=["id_number", "benefit"], how="left")
        .with_columns(
            reason=pl.when(~pl.col("on_roster"))
            .then(pl.lit("left_roster"))
            .when(~pl.col("alive") & pl.col("death_date").is_not_null())
            .then(pl.lit("died"))
            .otherwise(pl.lit("no_longer_eligible")),
            detail=pl.when(~pl.col("on_roster") & pl.col("rejected"))
            .then(pl.lit("the row was rejected this month (see rejected.parquet)"))
            .when(~pl.col("on_roster"))
            .then(pl.lit("not on this month's roster"))
            .when(~pl.col("alive") & pl.col("death_date").is_not_null())
            .then(pl.format("died on {}", pl.col("death_date").cast(pl.String)))
            .when(~pl.col("alive"))
            .then(pl.format("entitled only from {}", pl.col("eligible_from").cast(pl.String)))
            .otherwise(pl.col("detail")),
        )
        .select("id_number", "benefit", "reason", "detail")
    )
