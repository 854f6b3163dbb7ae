"""What would it cost? A scenario: the county's rules with some rows changed, added or removed, run on
a roster for the month and the next 12 months, against the rules as they stand (issue 16).

A scenario is never policy: nothing is accepted, nothing is written under runs/, every file it writes
has "scenario" in its name and title, and `run` never reads it. The projection ages the roster's people
month by month (the county's age basis decides the month someone enters a band) and assumes nobody
moves or is added; nobody dies either, unless the scenario file gives mortality rates, and then every
later month is an expected figure. Every output says which.

Rounding with mortality: the chance of living to a month is exact Decimal arithmetic (40 digits, no
float): (1 - annual) ** (1/12) for each month of the projection, at the rate of the age counted for that
month, multiplied up month by month. Each person-month's fen is multiplied by it, and every figure shown
(a month, a 乡镇 over 12 months, a total) is the exact sum rounded half up to the fen once; a difference
is the difference of the two figures shown. Expected people are rounded half up to 0.01.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import NoRuleInForceError, UsageError
from subsidy_batch.money import fen_text, yuan_to_fen
from subsidy_batch.outputs.labels import age_band
from subsidy_batch.period import Period
from subsidy_batch.roster.read import read_roster
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import age_on, line_items, reference_date
from subsidy_batch.rules.config import CountyConfig, load_county
from subsidy_batch.rules.scenario import (
    PRECISION,
    Change,
    Mortality,
    Scenario,
    load_scenarios,
    parse_set,
)

__all__ = [
    "Change",
    "Scenario",
    "compare",
    "load_scenarios",
    "parse_set",
    "simulate",
    "with_changes",
    "write_comparison",
    "write_scenario",
]

ASSUMPTIONS = (
    "a projection, not a payment: the roster's people as they are this month, each month older; "
    "no deaths, moves or new people; rules and amounts as in force each month, with the scenario's changes"
)
_RADIX = 13  # a survival key counts, per mortality band, the months (0-12) lived in it: base 13 digits


def assumptions(mortality: Mortality | None) -> str:
    """What the projection assumes, in one paragraph for every output."""
    if mortality is None:
        return ASSUMPTIONS
    return (
        "a projection, not a payment: EXPECTED people and cost. The roster's people as they are this month, "
        "each month older; each later month weighted by the chance of living to it, (1 - annual rate) ** (1/12) "
        f"a month compounded, at the rate of the age counted for the month: {mortality.text()}; no moves or "
        "new people; rules and amounts as in force each month, with the scenario's changes; each figure is "
        "the exact expected amount rounded half up to the fen once"
    )


def with_changes(config: CountyConfig, changes: list[Change]) -> CountyConfig:
    """The county's rules with each change's row paying its amount monthly; an unknown row is an error."""
    return Scenario("--set", tuple(changes)).apply(config)


def month_cost(
    people: pl.DataFrame, config: CountyConfig, period: Period, survival: pl.Series | None = None
) -> pl.DataFrame:
    """Per benefit, 乡镇, age band and survival key (0 without mortality): people with an item, the amount
    payable (fen) and held items."""
    try:
        items = line_items(people, config, period)
    except NoRuleInForceError:
        items = pl.DataFrame(
            schema={
                "id_number": pl.String,
                "benefit": pl.String,
                "township": pl.String,
                "age": pl.Int32,
                "status": pl.String,
                "amount_fen": pl.Int64,
                "pos": pl.UInt32,
            }
        )
    key = pl.lit(0, pl.Int64) if survival is None else survival.gather(items.get_column("pos"))
    paid = pl.col("status") == "paid"
    return (
        items.with_columns(band=age_band(pl.col("age")), key=key)
        .group_by("benefit", "township", "band", "key")
        .agg(
            people=pl.col("id_number").filter(paid).n_unique(),
            fen=pl.col("amount_fen").filter(paid).sum(),
            held=(~paid).sum(),
        )
        .with_columns(period=pl.lit(str(period)))
        .sort("benefit", "township", "band", "key")
    )


def survival_keys(
    people: pl.DataFrame, config: CountyConfig, horizon: list[Period], mortality: Mortality | None
) -> dict[str, pl.Series]:
    """Per later month of the horizon, each person's survival key: how many months of the projection so
    far they lived in each mortality band, at the age counted for each month (base-13 digits)."""
    if mortality is None:
        return {}
    frame = people.select(pl.col("birth_date"), key=pl.lit(0, pl.Int64))
    keys = {}
    for month in horizon[1:]:
        age = age_on(pl.col("birth_date"), reference_date(month, config.age_basis))
        step: Any = pl
        for index, rate in enumerate(mortality.rates):
            test = age >= rate.low if rate.high is None else (age >= rate.low) & (age <= rate.high)
            step = step.when(test).then(pl.lit(_RADIX**index, pl.Int64))
        frame = frame.with_columns(key=pl.col("key") + step.otherwise(pl.lit(0, pl.Int64)).fill_null(0))
        keys[str(month)] = frame.get_column("key")
    return keys


def survival(key: int, mortality: Mortality | None) -> Decimal | int:
    """The chance of living to a person-month with this key: the product of each band's monthly survival
    raised to the months lived in it (exactly 1 without mortality)."""
    if mortality is None:
        return 1
    with localcontext() as ctx:
        ctx.prec = PRECISION
        chance = Decimal(1)
        for rate in mortality.rates:
            key, months = divmod(key, _RADIX)
            chance *= rate.monthly_survival**months
        return chance


def _horizon(period: Period, months: int) -> list[Period]:
    horizon = [period]
    for _ in range(months):
        horizon.append(horizon[-1].next())
    return horizon


def _project(
    people: pl.DataFrame, config: CountyConfig, horizon: list[Period], keys: dict[str, pl.Series]
) -> pl.DataFrame:
    return pl.concat([month_cost(people, config, m, keys.get(str(m))) for m in horizon])


def simulate(
    config_dir: Path, county: str, period: Period, roster: Path, changes: list[Change], months: int = 12
) -> dict[str, Any]:
    """The month and the next `months` under the rules as they stand and under the scenario."""
    if not changes:
        raise UsageError("say what the scenario changes, e.g. --set high_age_allowance/county_80_89=50")
    return next(
        iter(cost(config_dir, county, period, roster, [Scenario("--set", tuple(changes))], months).values())
    )


def cost(
    config_dir: Path, county: str, period: Period, roster: Path, scenarios: list[Scenario], months: int = 12
) -> dict[str, dict[str, Any]]:
    """Each scenario's result by name: the roster is read, and the rules as they stand projected, once."""
    schema = load_schema()
    baseline = load_county(config_dir, county, schema)
    configs = [s.apply(baseline) for s in scenarios]  # a scenario's mistake before the roster is read
    if len({s.mortality for s in scenarios}) > 1:
        raise UsageError("scenarios compared side by side assume the same mortality (one per scenario file)")
    mortality = scenarios[0].mortality
    raw = read_roster(roster, schema, roster.name)
    people = validate(raw, schema, str(period), county).accepted
    horizon = _horizon(period, months)
    keys = survival_keys(people, baseline, horizon, mortality)
    base = _project(people, baseline, horizon, keys)
    first, rest = [str(period)], [str(m) for m in horizon[1:]]
    results = {}
    for scenario, config in zip(scenarios, configs, strict=True):
        scen = _project(people, config, horizon, keys)

        def table(by: list[str], periods: list[str], people_key: str = "people") -> list[dict[str, Any]]:
            return _table(base, scen, by, periods, mortality, people_key)  # noqa: B023 (used at once)

        (total,) = table([], rest) or [{"baseline": "0.00", "scenario": "0.00"}]
        results[scenario.name] = {
            "scenario": scenario.describe(),
            "county": county,
            "county_name": baseline.name,
            "period": str(period),
            "roster": roster.name,
            "people_on_roster": people.height,
            "assumptions": assumptions(mortality),
            "expected": mortality is not None,
            "mortality": None if mortality is None else mortality.as_json(),
            "gaps": [g for g in config.gaps if g not in baseline.gaps],
            "by_benefit": _table(base, scen, ["benefit"], first, None, "people"),
            "by_township": _table(base, scen, ["township"], first, None, "people"),
            "by_age_band": _table(base, scen, ["band"], first, None, "people"),
            "by_month": table(["period"], [*first, *rest]),
            "next_12_months": {"baseline": total["baseline"], "scenario": total["scenario"]},
            "next_12_months_by_benefit": table(["benefit"], rest, "person_months"),
            "next_12_months_by_township": table(["township"], rest, "person_months"),
        }
    return results


def _table(
    base: pl.DataFrame,
    scen: pl.DataFrame,
    by: list[str],
    periods: list[str],
    mortality: Mortality | None,
    people_key: str,
) -> list[dict[str, Any]]:
    """Rows by `by` over `periods`: people (or person-months) and yuan as the rules stand and under the
    scenario, each the exact (expected) sum rounded once; the difference of the two amounts shown."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    chances: dict[int, Decimal | int] = {}  # per survival key: few keys, many rows
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for side, frame in enumerate((base, scen)):
            grouped = (
                frame.filter(pl.col("period").is_in(periods))
                .group_by(*by, "key")
                .agg(pl.col("people").sum(), pl.col("fen").sum())
            )
            for row in grouped.iter_rows(named=True):
                if row["key"] not in chances:
                    chances[row["key"]] = survival(row["key"], mortality)
                chance = chances[row["key"]]
                slot = sums.setdefault(tuple(row[k] for k in by), [0, 0, 0, 0])
                slot[2 * side] += row["people"] * chance
                slot[2 * side + 1] += (row["fen"] or 0) * chance
    rows = []
    for key in sorted(sums, key=lambda k: tuple((v is None, v) for v in k)):
        people_now, fen_now, people, fen = sums[key]
        now, then = _whole(fen_now), _whole(fen)
        rows.append(
            dict(zip(by, key, strict=True))
            | {
                f"baseline_{people_key}": _people(people_now),
                "baseline": fen_text(now),
                f"scenario_{people_key}": _people(people),
                "scenario": fen_text(then),
                "difference": fen_text(then - now),
            }
        )
    return rows


def _whole(fen: int | Decimal) -> int:
    """Fen, exact: an expected amount rounded half up to the fen once, here."""
    return fen if isinstance(fen, int) else int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _people(count: int | Decimal) -> int | str:
    """A count of people, or an expected count rounded half up to 0.01 (as text)."""
    return count if isinstance(count, int) else str(count.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def compare(
    config_dir: Path, county: str, period: Period, roster: Path, scenarios: list[Scenario]
) -> dict[str, Any]:
    """Several scenarios side by side: each one's result, a summary row per scenario, and per 乡镇 each
    scenario's cost this month and over the next 12 months."""
    results = cost(config_dir, county, period, roster, scenarios)
    first = next(iter(results.values()))
    summary = []
    for name, result in results.items():
        month = next((r for r in result["by_month"] if r["period"] == result["period"]), None)
        summary.append(
            {
                "scenario": name,
                "changes": result["scenario"],
                "month_baseline": month["baseline"] if month else "0.00",
                "month_scenario": month["scenario"] if month else "0.00",
                "next_12_months_baseline": result["next_12_months"]["baseline"],
                "next_12_months_scenario": result["next_12_months"]["scenario"],
                "next_12_months_difference": fen_text(
                    yuan_to_fen(result["next_12_months"]["scenario"])
                    - yuan_to_fen(result["next_12_months"]["baseline"])
                ),
            }
        )
    return {
        "county": county,
        "county_name": first["county_name"],
        "period": first["period"],
        "roster": first["roster"],
        "assumptions": first["assumptions"],
        "expected": first["expected"],
        "mortality": first["mortality"],
        "summary": summary,
        "by_township": by_township(results),
        "scenarios": results,
    }


def by_township(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per 乡镇: this month and the next 12 months as the rules stand and under each scenario."""

    def cell(rows: list[dict[str, Any]], township: str, side: str) -> str:
        return next((r[side] for r in rows if r["township"] == township), "0.00")

    first = next(iter(results.values()))
    townships = sorted(
        {
            r["township"]
            for one in results.values()
            for r in one["by_township"] + one["next_12_months_by_township"]
        }
    )
    return [
        {
            "township": t,
            "month_baseline": cell(first["by_township"], t, "baseline"),
            "next_12_months_baseline": cell(first["next_12_months_by_township"], t, "baseline"),
            "scenarios": {
                name: {
                    "month": cell(one["by_township"], t, "scenario"),
                    "next_12_months": cell(one["next_12_months_by_township"], t, "scenario"),
                }
                for name, one in results.items()
            },
        }
        for t in townships
    ]


# the writers live with the other outputs; imported here for the callers of the scenario's functions
from subsidy_batch.outputs.scenario import write_comparison, write_scenario  # noqa: E402
