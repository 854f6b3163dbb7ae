"""Yearly operating subsidies paid to facilities (Anqiu 003 (十四)1): rules, conditions and amounts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import ConfigError, NoRuleInForceError
from subsidy_batch.period import Period
from subsidy_batch.roster.read import ACCOUNT_NUMBER_CELL
from subsidy_batch.roster.schema import SCHEMA_DIR, RosterSchema, load_schema
from subsidy_batch.rules.compute import hold_reason, status
from subsidy_batch.rules.conditions import (
    Condition,
    Field,
    Target,
    failure_message,
    parse_condition,
    test_expression,
)
from subsidy_batch.rules.config import NOT_SET, county_path
from subsidy_batch.rules.strict import Node, read_yaml

KINDS = ("institution", "daycare", "canteen")
_SECTION_KEYS = {"effective", "validity_citation", "rating_factors", "benefits", "bank_memo"}
_FACTOR_KEYS = {"min", "max", "citation", *KINDS}
_KIND_FACTOR_KEYS = {"factors", "reason", "decided_by"}
_BENEFIT_KEYS = {"title", "kind", "description", "when", "amount", "citation"}
_AMOUNT_KEYS = {"per_resident_year", "yearly", "tiers", "pro_rate_by_months", "rating_factor"}


@dataclass(frozen=True)
class Tier:
    min_users: int
    max_users: int | None
    yearly_fen: int


@dataclass(frozen=True)
class FacilityRule:
    benefit: str
    kind: str
    title: str
    citation: str
    when: Condition = field(default_factory=Condition)
    per_resident_fen: tuple[int, int] | None = None  # (中度, 重度) per resident-year
    yearly_fen: int | None = None
    tiers: tuple[Tier, ...] = ()
    pro_rate_by_months: bool = False
    rating_factor: str | None = None  # which kind's factor mapping applies


@dataclass(frozen=True)
class FacilityConfig:
    county: str
    name: str
    path: Path
    start: Period
    end: Period
    validity_citation: str
    factor_citation: str
    factors: dict[str, dict[str, int] | None]  # kind -> rating -> basis points (10000 = 1.0); None: not set
    factor_reasons: dict[str, str]
    rules: dict[str, FacilityRule]  # by facility kind
    fields: dict[str, Field]  # the facility roster's columns, as conditions see them
    bank_memo: str = ""  # the memo of every bank record, a template of {year} and {county_name}

    def memo(self, year: int) -> str:
        return self.bank_memo.format(year=year, county_name=self.name)

    def months_in_force(self, year: int) -> int:
        """Months of the calendar year inside the policy's validity."""
        return sum(1 for m in range(1, 13) if self.start <= Period(year, m) <= self.end)


def _factor_bp(node: Node, low: Decimal, high: Decimal) -> int:
    factor = node.decimal()
    if not low <= factor <= high or factor != factor.quantize(Decimal("0.0001")):
        raise node.error(f"factor {factor} must lie in {low}-{high} (the source's range), 4 decimals at most")
    return int(factor * 10000)


def _factors(node: Node) -> tuple[dict[str, dict[str, int] | None], dict[str, str], str]:
    spec = node.mapping(_FACTOR_KEYS, required=("min", "max", "citation"))
    low, high = spec["min"].decimal(), spec["max"].decimal()
    factors: dict[str, dict[str, int] | None] = {}
    reasons: dict[str, str] = {}
    for kind in KINDS:
        if kind not in spec:
            continue
        entry = spec[kind].mapping(_KIND_FACTOR_KEYS, required=("factors",))
        if entry["factors"].value == NOT_SET:
            if "reason" not in entry:
                raise spec[kind].error(f"factors that are {NOT_SET!r} need a 'reason'")
            factors[kind], reasons[kind] = None, entry["reason"].text()
            continue
        if "decided_by" not in entry:
            raise spec[kind].error("a factor mapping needs 'decided_by' (the county document deciding it)")
        factors[kind] = {
            rating: _factor_bp(value, low, high) for rating, value in entry["factors"].entries().items()
        }
        reasons[kind] = f"county decision: {entry['decided_by'].text()}"
    return factors, reasons, spec["citation"].text()


def _tiers(node: Node) -> tuple[Tier, ...]:
    tiers = []
    for tier_node in node.items():
        t = tier_node.mapping({"min_users", "max_users", "yearly"}, required=("min_users", "yearly"))
        tiers.append(
            Tier(
                t["min_users"].integer(low=0),
                t["max_users"].integer(low=0) if "max_users" in t else None,
                t["yearly"].money(),
            )
        )
    for lower, upper in itertools.pairwise(tiers):
        if lower.max_users is None or upper.min_users != lower.max_users + 1:
            raise node.error("tiers must follow each other without gap or overlap")
    return tuple(tiers)


def _rule(
    node: Node, benefit: str, factors: dict[str, dict[str, int] | None], fields: dict[str, Field]
) -> FacilityRule:
    # `when` left out is refused by parse_condition, which says what to write
    spec = node.mapping(_BENEFIT_KEYS, required=("title", "kind", "description", "amount", "citation"))
    kind = spec["kind"].choice(KINDS)
    amount = spec["amount"].mapping(_AMOUNT_KEYS)
    bases = [k for k in ("per_resident_year", "yearly", "tiers") if k in amount]
    if len(bases) != 1:
        raise spec["amount"].error("give exactly one of per_resident_year, yearly or tiers")
    per_resident = None
    if "per_resident_year" in amount:
        pr = amount["per_resident_year"].mapping({"moderate", "severe"}, required=("moderate", "severe"))
        per_resident = (pr["moderate"].money(), pr["severe"].money())
    factor_kind = amount["rating_factor"].choice(KINDS) if "rating_factor" in amount else None
    if factor_kind is not None and factor_kind not in factors:
        raise amount["rating_factor"].error(f"no rating_factors entry for {factor_kind!r}")
    return FacilityRule(
        benefit=benefit,
        kind=kind,
        title=spec["title"].text(),
        citation=spec["citation"].text(),
        when=parse_condition(spec.get("when", node.child("when", None)), fields, failure_codes=True),
        per_resident_fen=per_resident,
        yearly_fen=amount["yearly"].money() if "yearly" in amount else None,
        tiers=_tiers(amount["tiers"]) if "tiers" in amount else (),
        pro_rate_by_months=amount["pro_rate_by_months"].boolean()
        if "pro_rate_by_months" in amount
        else False,
        rating_factor=factor_kind,
    )


def load_facility_config(config_dir: Path, county: str, schema: RosterSchema | None = None) -> FacilityConfig:
    """The county's facility_benefits section, strictly; a county without one has no facility run.

    Conditions are checked against the facility roster schema (by default schemas/facility.yaml).
    """
    path = county_path(config_dir, county)
    schema = schema or load_schema("facility", schema_dir=SCHEMA_DIR)
    fields = schema.fields()
    data = read_yaml(path)
    if not isinstance(data.value.get("facility_benefits"), dict):
        raise ConfigError(f"{path}: {county} has no facility_benefits, so there is no facility run for it")
    section = data.entries()["facility_benefits"].mapping(
        _SECTION_KEYS, required=("effective", "benefits", "bank_memo")
    )
    eff = section["effective"].mapping({"from", "to"}, required=("from", "to"))
    if "rating_factors" in section:
        factors, reasons, factor_citation = _factors(section["rating_factors"])
    else:
        factors, reasons, factor_citation = {}, {}, ""
    rules: dict[str, FacilityRule] = {}
    for benefit, raw in section["benefits"].entries().items():
        rule = _rule(raw, benefit, factors, fields)
        if rule.kind in rules:
            raise raw.error(f"a second benefit for kind {rule.kind!r} (one table row per facility kind)")
        rules[rule.kind] = rule
    start, end = eff["from"].period(), eff["to"].period()
    if end < start:
        raise eff["to"].error(f"'to' {end} is before 'from' {start}")
    return FacilityConfig(
        county=county,
        name=data.entries()["name"].text(),
        path=path,
        start=start,
        end=end,
        validity_citation=section["validity_citation"].text() if "validity_citation" in section else "",
        factor_citation=factor_citation,
        factors=factors,
        factor_reasons=reasons,
        rules=rules,
        fields=fields,
        bank_memo=section["bank_memo"].template(year="2024", county_name="县"),
    )


# ---- the engine -------------------------------------------------------------------------------------


def _conditions(rule: FacilityRule, fields: dict[str, Field]) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(condition code, failed?, message in the roster's words) for each condition the rule sets."""
    out = []
    for test in rule.when.tests:
        column = fields[test.field]
        holds = test_expression(test, Target(pl.col(test.field)), column).fill_null(False)
        out.append((test.failure or f"{test.field}_not_eligible", ~holds, failure_message(test, column)))
    if rule.per_resident_fen is not None:  # an amount per resident needs the resident counts
        out.append(
            (
                "no_resident_counts",
                pl.col("residents_moderate").is_null() & pl.col("residents_severe").is_null(),
                pl.lit("中度失能人数 and 重度失能人数 are both empty"),
            )
        )
    return out


def _base_fen(rule: FacilityRule) -> pl.Expr:
    if rule.per_resident_fen is not None:
        moderate, severe = rule.per_resident_fen
        return (
            pl.col("residents_moderate").cast(pl.Int64).fill_null(0) * moderate
            + pl.col("residents_severe").cast(pl.Int64).fill_null(0) * severe
        )
    if rule.yearly_fen is not None:
        return pl.lit(rule.yearly_fen, pl.Int64)
    expr: Any = pl.lit(None, pl.Int64)
    for tier in reversed(rule.tiers):
        inside = pl.col("daily_users") >= tier.min_users
        if tier.max_users is not None:
            inside = inside & (pl.col("daily_users") <= tier.max_users)
        expr = pl.when(inside).then(pl.lit(tier.yearly_fen, pl.Int64)).otherwise(expr)
    return expr


def facility_items(
    facilities: pl.DataFrame, config: FacilityConfig, year: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Line items of the eligible facilities, and every failed condition of the others."""
    in_force = config.months_in_force(year)
    if in_force == 0:
        raise NoRuleInForceError(
            f"the facility subsidies of {config.county} are in force {config.start} to {config.end}; "
            f"{year} is outside that ({config.validity_citation})"
        )
    if ACCOUNT_NUMBER_CELL not in facilities.columns:  # facilities not read from a file (tests)
        facilities = facilities.with_columns(pl.lit(False).alias(ACCOUNT_NUMBER_CELL))
    typed = facilities
    items, failed = [], []
    for kind, rule in sorted(config.rules.items()):
        mine = typed.filter(pl.col("kind") == kind)
        conditions = _conditions(rule, config.fields)
        for code, is_failed, message in conditions:
            failed.append(
                mine.filter(is_failed).select(
                    "facility_id",
                    "name",
                    "kind",
                    pl.lit(rule.benefit).alias("benefit"),
                    pl.lit(code).alias("condition"),
                    message.alias("message"),
                    "row",
                )
            )
        any_failed = pl.any_horizontal([f for _, f, _ in conditions]) if conditions else pl.lit(False)
        eligible = mine.filter(~any_failed)
        mapping = config.factors.get(rule.rating_factor) if rule.rating_factor else {}
        if rule.rating_factor is None:
            factor = pl.lit(10000, pl.Int64)
        elif mapping is None:
            factor = pl.lit(None, pl.Int64)
        else:
            factor = pl.col("rating").replace_strict(
                list(mapping), list(mapping.values()), default=None, return_dtype=pl.Int64
            )
        months = (
            pl.min_horizontal(pl.col("months_operated"), pl.lit(in_force))
            if rule.pro_rate_by_months
            else pl.lit(in_force)
        )
        # one rounding, half up, at the end: base fen x factor (basis points) x months / 12
        exact = _base_fen(rule) * factor * months.cast(pl.Int64)
        amount = (exact * 2 + 120000) // 240000
        items.append(
            eligible.select(
                "facility_id",
                "name",
                "kind",
                pl.lit(rule.benefit).alias("benefit"),
                amount.alias("amount_fen"),
                _base_fen(rule).alias("base_amount_fen"),
                "rating",
                (factor.cast(pl.Decimal(10, 0)) / 10000).cast(pl.String).alias("rating_factor")
                if rule.rating_factor
                else pl.lit(None, pl.String).alias("rating_factor"),
                months.cast(pl.Int32).alias("months_paid"),
                "residents_moderate",
                "residents_severe",
                "daily_users",
                pl.lit(f"counties/{config.county}.yaml#facility_benefits/{rule.benefit}").alias("rule"),
                pl.lit(
                    rule.citation
                    if rule.rating_factor is None
                    else f"{rule.citation}; factor: {config.factor_citation}"
                ).alias("citation"),
                "bank_name",
                "bank_account",
                "bank_account_ok",
                ACCOUNT_NUMBER_CELL,
                "row",
            )
        )
    line_items = pl.concat(items) if items else pl.DataFrame()
    line_items = (
        line_items.with_columns(hold_reason=hold_reason())
        .with_columns(status=status())
        .sort("facility_id", "benefit")
    )
    ineligible = pl.concat(failed).sort("facility_id", "condition") if failed else pl.DataFrame()
    return line_items, ineligible
