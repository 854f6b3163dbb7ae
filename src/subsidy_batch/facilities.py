"""Yearly operating subsidies paid to facilities (Anqiu 003 (十四)1): rules, conditions and amounts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from subsidy_batch.config import NOT_SET, SAFE_LOADER, county_path
from subsidy_batch.errors import ConfigError, NoRuleInForceError
from subsidy_batch.money import yuan_to_fen
from subsidy_batch.period import Period

KINDS = ("institution", "daycare", "canteen")
NOT_RATED = ("未评定", "无", "未评级")  # what clerks write for "no rating"
_SECTION_KEYS = {"effective", "validity_citation", "rating_factors", "benefits"}
_FACTOR_KEYS = {"min", "max", "citation", *KINDS}
_KIND_FACTOR_KEYS = {"factors", "reason", "decided_by"}
_BENEFIT_KEYS = {"title", "kind", "description", "conditions", "amount", "citation"}
_CONDITION_KEYS = {
    "ownership",
    "location",
    "min_beds",
    "min_months",
    "min_floor_area",
    "min_daily_users",
    "rated",
}
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
    ownership: frozenset[str] | None = None
    location: frozenset[str] | None = None
    min_beds: int | None = None
    min_months: int | None = None
    min_floor_area: Decimal | None = None
    min_daily_users: int | None = None
    rated: bool = False
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

    def months_in_force(self, year: int) -> int:
        """Months of the calendar year inside the policy's validity."""
        return sum(1 for m in range(1, 13) if self.start <= Period(year, m) <= self.end)


def _keys(where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return data


def _fen(where: str, value: Any) -> int:
    try:
        return yuan_to_fen(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _factor_bp(where: str, value: Any, low: Decimal, high: Decimal) -> int:
    try:
        factor = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"{where}: {value!r} is not a number") from exc
    if not low <= factor <= high or factor != factor.quantize(Decimal("0.0001")):
        raise ConfigError(
            f"{where}: factor {value} must lie in {low}-{high} (the source's range), 4 decimals at most"
        )
    return int(factor * 10000)


def _factors(where: str, raw: Any) -> tuple[dict[str, dict[str, int] | None], dict[str, str], str, str]:
    spec = _keys(where, raw, _FACTOR_KEYS)
    low, high = Decimal(str(spec["min"])), Decimal(str(spec["max"]))
    factors: dict[str, dict[str, int] | None] = {}
    reasons: dict[str, str] = {}
    for kind in KINDS:
        if kind not in spec:
            continue
        entry = _keys(f"{where}.{kind}", spec[kind], _KIND_FACTOR_KEYS)
        if entry.get("factors") == NOT_SET:
            if not entry.get("reason"):
                raise ConfigError(f"{where}.{kind}: factors that are {NOT_SET!r} need a 'reason'")
            factors[kind], reasons[kind] = None, str(entry["reason"])
            continue
        if not entry.get("decided_by"):
            raise ConfigError(
                f"{where}.{kind}: a factor mapping needs 'decided_by' (the county document deciding it)"
            )
        mapping = _keys(f"{where}.{kind}.factors", entry.get("factors"), set(map(str, entry["factors"])))
        factors[kind] = {
            str(r): _factor_bp(f"{where}.{kind}.factors.{r}", v, low, high) for r, v in mapping.items()
        }
        reasons[kind] = f"county decision: {entry['decided_by']}"
    return factors, reasons, str(spec["citation"]), f"{low}-{high}"


def _rule(where: str, benefit: str, raw: Any, factors: dict[str, dict[str, int] | None]) -> FacilityRule:
    spec = _keys(where, raw, _BENEFIT_KEYS)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
    for key in ("title", "description", "citation"):
        if not spec.get(key):
            raise ConfigError(f"{where}: missing {key!r}")
    cond = _keys(f"{where}.conditions", spec.get("conditions") or {}, _CONDITION_KEYS)
    amount = _keys(f"{where}.amount", spec.get("amount"), _AMOUNT_KEYS)
    tiers = []
    for i, tier in enumerate(amount.get("tiers") or []):
        t = _keys(f"{where}.amount.tiers[{i}]", tier, {"min_users", "max_users", "yearly"})
        tiers.append(
            Tier(
                int(t["min_users"]),
                t.get("max_users"),
                _fen(f"{where}.amount.tiers[{i}].yearly", t["yearly"]),
            )
        )
    for lower, upper in itertools.pairwise(tiers):
        if lower.max_users is None or upper.min_users != lower.max_users + 1:
            raise ConfigError(f"{where}.amount.tiers: tiers must follow each other without gap or overlap")
    bases = [k for k in ("per_resident_year", "yearly", "tiers") if k in amount]
    if len(bases) != 1:
        raise ConfigError(f"{where}.amount: give exactly one of per_resident_year, yearly or tiers")
    per_resident = None
    if "per_resident_year" in amount:
        pr = _keys(f"{where}.amount.per_resident_year", amount["per_resident_year"], {"moderate", "severe"})
        per_resident = (_fen(f"{where}.moderate", pr["moderate"]), _fen(f"{where}.severe", pr["severe"]))
    factor_kind = amount.get("rating_factor")
    if factor_kind is not None and factor_kind not in factors:
        raise ConfigError(f"{where}.amount.rating_factor: no rating_factors entry for {factor_kind!r}")
    return FacilityRule(
        benefit=benefit,
        kind=kind,
        title=str(spec["title"]),
        citation=str(spec["citation"]),
        ownership=frozenset(cond["ownership"]) if "ownership" in cond else None,
        location=frozenset(cond["location"]) if "location" in cond else None,
        min_beds=cond.get("min_beds"),
        min_months=cond.get("min_months"),
        min_floor_area=Decimal(str(cond["min_floor_area"])) if "min_floor_area" in cond else None,
        min_daily_users=cond.get("min_daily_users"),
        rated=bool(cond.get("rated", False)),
        per_resident_fen=per_resident,
        yearly_fen=_fen(f"{where}.amount.yearly", amount["yearly"]) if "yearly" in amount else None,
        tiers=tuple(tiers),
        pro_rate_by_months=bool(amount.get("pro_rate_by_months", False)),
        rating_factor=factor_kind,
    )


def load_facility_config(config_dir: Path, county: str) -> FacilityConfig:
    """The county's facility_benefits section, strictly; a county without one has no facility run."""
    path = county_path(config_dir, county)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    if "facility_benefits" not in data:
        raise ConfigError(f"{path}: {county} has no facility_benefits, so there is no facility run for it")
    where = f"{path}: facility_benefits"
    section = _keys(where, data["facility_benefits"], _SECTION_KEYS)
    eff = _keys(f"{where}.effective", section.get("effective"), {"from", "to"})
    factors, reasons, factor_citation, _ = _factors(f"{where}.rating_factors", section.get("rating_factors"))
    rules = {}
    for benefit, raw in (section.get("benefits") or {}).items():
        rule = _rule(f"{where}.benefits.{benefit}", str(benefit), raw, factors)
        if rule.kind in rules:
            raise ConfigError(
                f"{where}: two benefits for kind {rule.kind!r} (one table row per facility kind)"
            )
        rules[rule.kind] = rule
    return FacilityConfig(
        county=county,
        name=str(data["name"]),
        path=path,
        start=Period.parse(str(eff["from"])),
        end=Period.parse(str(eff["to"])),
        validity_citation=str(section.get("validity_citation") or ""),
        factor_citation=factor_citation,
        factors=factors,
        factor_reasons=reasons,
        rules=rules,
    )


# ---- the engine -------------------------------------------------------------------------------------


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    whole = {
        c: pl.col(c).cast(pl.Int64)
        for c in ("beds", "months_operated", "daily_users", "residents_moderate", "residents_severe")
    }
    return frame.with_columns(
        **whole,
        floor_area=pl.col("floor_area").cast(pl.Decimal(12, 2)),
        rated=pl.col("rating").is_not_null() & ~pl.col("rating").is_in(list(NOT_RATED)),
    )


# The roster's own words for coded values, so that messages read as the clerk wrote the roster.
LABELS = {
    "private": "民办",
    "public_built_private_run": "公建民营",
    "public": "公办",
    "urban": "城市社区",
    "rural": "农村",
}


def _label(col: pl.Expr) -> pl.Expr:
    return col.replace(LABELS).fill_null("empty")


def _labels(values: frozenset[str]) -> str:
    return " / ".join(LABELS.get(v, v) for v in sorted(values))


def _conditions(rule: FacilityRule) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(condition code, failed?, message) for each condition the rule sets."""
    out: list[tuple[str, pl.Expr, pl.Expr]] = []
    if rule.ownership is not None:
        out.append(
            (
                "ownership_not_eligible",
                ~pl.col("ownership").is_in(sorted(rule.ownership)),
                pl.format(
                    "运营性质 is {}; only {} qualify",
                    _label(pl.col("ownership")),
                    pl.lit(_labels(rule.ownership)),
                ),
            )
        )
    if rule.location is not None:
        out.append(
            (
                "location_not_eligible",
                ~pl.col("location").is_in(sorted(rule.location)).fill_null(False),
                pl.format(
                    "所在区域 is {}; only {} qualify",
                    _label(pl.col("location")),
                    pl.lit(_labels(rule.location)),
                ),
            )
        )
    if rule.min_beds is not None:
        out.append(
            (
                "too_few_beds",
                (pl.col("beds") < rule.min_beds).fill_null(True),
                pl.format(
                    "床位数 is {}; at least {} needed",
                    pl.col("beds").cast(pl.String).fill_null("empty"),
                    pl.lit(rule.min_beds),
                ),
            )
        )
    if rule.min_months is not None:
        out.append(
            (
                "operating_too_short",
                pl.col("months_operated") < rule.min_months,
                pl.format(
                    "operated {} months in the year; at least {} needed (投入运营半年以上)",
                    pl.col("months_operated"),
                    pl.lit(rule.min_months),
                ),
            )
        )
    if rule.min_floor_area is not None:
        out.append(
            (
                "floor_area_too_small",
                (pl.col("floor_area") < pl.lit(rule.min_floor_area)).fill_null(True),
                pl.format(
                    "建筑面积 is {} m2; at least {} m2 needed",
                    pl.col("floor_area").cast(pl.String).fill_null("empty"),
                    pl.lit(str(rule.min_floor_area)),
                ),
            )
        )
    if rule.min_daily_users is not None:
        out.append(
            (
                "too_few_daily_users",
                (pl.col("daily_users") < rule.min_daily_users).fill_null(True),
                pl.format(
                    "日均服务老年人数 is {}; at least {} needed",
                    pl.col("daily_users").cast(pl.String).fill_null("empty"),
                    pl.lit(rule.min_daily_users),
                ),
            )
        )
    if rule.rated:
        out.append(
            (
                "not_rated",
                ~pl.col("rated"),
                pl.lit("no rating result (等级评定结果); the subsidy needs a rated facility"),
            )
        )
    if rule.per_resident_fen is not None:
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
            pl.col("residents_moderate").fill_null(0) * moderate
            + pl.col("residents_severe").fill_null(0) * severe
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
    if "account_as_number" not in facilities.columns:  # facilities not read from a file (tests)
        facilities = facilities.with_columns(account_as_number=pl.lit(False))
    typed = _typed(facilities)
    items, failed = [], []
    for kind, rule in sorted(config.rules.items()):
        mine = typed.filter(pl.col("kind") == kind)
        conditions = _conditions(rule)
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
                "account_as_number",
                "row",
            )
        )
    line_items = pl.concat(items) if items else pl.DataFrame()
    hold = (
        pl.when(pl.col("amount_fen").is_null())
        .then(pl.lit("standard_not_set"))
        .when(pl.col("account_as_number"))
        .then(pl.lit("account_stored_as_number"))
        .when(~pl.col("bank_account_ok"))
        .then(pl.lit("no_bank_account"))
    )
    line_items = (
        line_items.with_columns(hold_reason=hold)
        .with_columns(
            status=pl.when(pl.col("hold_reason").is_null()).then(pl.lit("paid")).otherwise(pl.lit("held"))
        )
        .sort("facility_id", "benefit")
    )
    ineligible = pl.concat(failed).sort("facility_id", "condition") if failed else pl.DataFrame()
    return line_items, ineligible
