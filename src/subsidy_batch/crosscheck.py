"""Who is missing? A population list (户籍 extract) against the roster, for 免申即享 (issue 17, part 2).

It lists people who meet a benefit's conditions as far as the list can tell and are not on the roster (or
will meet them within a few months), and people on the roster whom the list does not hold or holds as
死亡 / 迁出 / 注销. It never pays anyone and writes nothing under runs/: its findings are leads for the
clerks, and only a roster the clerk approves is paid by `subsidy run`.

A rule is checked when every field its conditions test is one the list holds (age, counted from the
list's date of birth with the county's age basis by the engine's own targets, and 户籍区划代码); the
conditions are evaluated by the engine's own expressions. 户籍 is the list's 户籍区划代码, never the ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.outputs.emit import sha256_file
from subsidy_batch.outputs.labels import AGE_BASES_ZH, benefit_titles
from subsidy_batch.period import Period
from subsidy_batch.roster import idnumber
from subsidy_batch.roster.population import ENDED, PopulationList, read_population
from subsidy_batch.roster.read import ROW, read_roster
from subsidy_batch.roster.schema import RosterSchema, load_schema, normalise_expr, start_loading_pandera
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import age_on, reference_date, targets
from subsidy_batch.rules.conditions import expression
from subsidy_batch.rules.config import AGE, CountyConfig, Rule, load_county

# the closed set of findings, in the order they are listed
FINDINGS = ("missing_from_roster", "turning_eligible", "not_on_population_list", "population_status")
UNKNOWN_TOWNSHIP = "未知乡镇"
NOTHING_PAID = (
    "nothing was paid: these are leads for the clerks to verify; only a roster the clerk approves is paid, "
    "by subsidy run"
)
FINDING_SCHEMA = pl.Schema(
    [
        ("period", pl.String),
        ("county", pl.String),
        ("finding", pl.String),
        ("id_number", pl.String),
        ("name", pl.String),
        ("township", pl.String),
        ("hukou_code", pl.String),
        ("birth_date", pl.Date),
        ("age", pl.Int32),
        ("benefit", pl.String),
        ("rule", pl.String),
        ("month", pl.String),
        ("detail", pl.String),
        ("population_row", pl.Int64),
        ("roster_row", pl.Int64),
    ]
)


@dataclass(frozen=True)
class Result:
    findings: pl.DataFrame  # FINDING_SCHEMA, sorted by finding, ID number, benefit
    problems: pl.DataFrame  # the population list's problems (population.PROBLEM_COLUMNS)
    summary: dict[str, Any]
    county_name: str
    titles: dict[str, str]  # benefit code -> Chinese name


def decidable_fields(population: RosterSchema, roster: RosterSchema) -> frozenset[str]:
    """What a condition may test and still be decided from the list: age, and the roster columns every
    list must hold (schemas/population.yaml, required)."""
    held = {c for c, spec in population.columns.items() if spec.required and c in roster.columns}
    return frozenset({AGE.name, *held})


def coverage(
    config: CountyConfig, months: list[Period], decidable: frozenset[str], titles: dict[str, str]
) -> tuple[list[dict[str, Any]], list[Rule]]:
    """For every benefit of the county: whether it was checked, which rows, and why the others were not;
    and the rows that are checked (those in force in some month of `months` testing decidable fields only)."""
    report, checked = [], []
    for benefit in config.benefits:
        rows = [r for r in config.rules if r.benefit == benefit and any(r.in_force(m) for m in months)]
        yes = [r for r in rows if set(r.when.fields()) <= decidable]
        no = {r.id: sorted(set(r.when.fields()) - decidable) for r in rows if r not in yes}
        checked += yes
        if not rows:
            status, reason = "not_checked", f"no row is in force in {months[0]}..{months[-1]}"
        elif not no:
            status, reason = "checked", None
        else:
            needs = sorted({f for fields in no.values() for f in fields})
            named = ", ".join(f"{f} ({config.fields[f].zh})" for f in needs)
            status = "partly_checked" if yes else "not_checked"
            reason = f"needs {named}, which a 户籍 extract does not hold"
        report.append(
            {
                "benefit": benefit,
                "title": titles.get(benefit, benefit),
                "status": status,
                "reason": reason,
                "rows_checked": [r.id for r in yes],
                "rows_not_checked": {k: v for k, v in sorted(no.items())},
            }
        )
    return report, checked


def _rule_index(rules: list[Rule], month: Period, config: CountyConfig, benefit: str) -> pl.Expr:
    """The index (in `rules`) of the benefit's row that the person meets in the month, or null."""
    target = targets(reference_date(month, config.age_basis))
    cases = [(i, r) for i, r in enumerate(rules) if r.benefit == benefit and r.in_force(month)]
    if not cases:
        return pl.lit(None, pl.UInt32)
    chain: Any = pl.when(expression(cases[0][1].when, target, config.fields)).then(
        pl.lit(cases[0][0], pl.UInt32)
    )
    for i, rule in cases[1:]:
        chain = chain.when(expression(rule.when, target, config.fields)).then(pl.lit(i, pl.UInt32))
    return chain


def _candidates(
    people: pl.DataFrame, rules: list[Rule], months: list[Period], config: CountyConfig
) -> pl.DataFrame:
    """missing_from_roster and turning_eligible rows for people of the list (not on the roster, 正常)."""
    benefits = sorted({r.benefit for r in rules})
    if not benefits or not people.height:
        return pl.DataFrame(
            schema={"pos": pl.UInt32, "finding": pl.String, "rule_index": pl.UInt32, "month": pl.String}
        )
    marks = (
        people.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("pos"),
            *(
                _rule_index(rules, month, config, b).alias(f"{b}|{k}")
                for b in benefits
                for k, month in enumerate(months)
            ),
        )
        .collect()
    )
    parts = []
    for b in benefits:
        now = pl.col(f"{b}|0")
        later = [(pl.col(f"{b}|{k}"), str(m)) for k, m in enumerate(months) if k]
        months_met: list[pl.Expr] = [pl.when(c.is_not_null()).then(pl.lit(m)) for c, m in later]
        first_month = pl.coalesce(months_met or [pl.lit(None, pl.String)])
        first_rule = pl.coalesce([c for c, _ in later] or [pl.lit(None, pl.UInt32)])
        parts.append(
            marks.lazy()
            .select(
                "pos",
                finding=pl.when(now.is_not_null())
                .then(pl.lit("missing_from_roster"))
                .when(first_rule.is_not_null())
                .then(pl.lit("turning_eligible")),
                rule_index=pl.coalesce(now, first_rule),
                month=pl.when(now.is_not_null()).then(pl.lit(str(months[0]))).otherwise(first_month),
            )
            .filter(pl.col("finding").is_not_null())
        )
    return pl.concat(parts).collect()


def _roster_keys(rejected: pl.DataFrame, schema: RosterSchema) -> pl.Series:
    """The ID keys of rejected roster rows whose ID is well formed: such a person is on the roster (their
    row awaits correction), so the list never reports them missing from it."""
    ids = rejected.select(pl.col("id_number").unique()).select(normalise_expr(schema.columns["id_number"]))
    return ids.select(idnumber.exact_key(pl.col("id_number")).alias("id_key")).to_series().drop_nulls()


def _list_keys(population: PopulationList, schema: RosterSchema) -> pl.Series:
    """The ID keys of the list's rejected rows (converted from 15 digits as the reader does)."""
    rejected = population.problems.filter(pl.col("outcome") == "rejected").select(
        pl.col("id_number").unique()
    )
    ids = rejected.select(normalise_expr(schema.columns["id_number"])).select(
        idnumber.exact_key(idnumber.from_15_digits(pl.col("id_number"))).alias("id_key")
    )
    return ids.to_series().drop_nulls()


def crosscheck(
    config_dir: Path, county: str, period: Period, population: Path, roster: Path, within: int = 3
) -> Result:
    """The findings of the population list against the roster for the period and the next `within` months."""
    start_loading_pandera()  # imported while the lists are read, as a run does
    roster_schema, population_schema = load_schema(), load_schema("population")
    config = load_county(config_dir, county, roster_schema)
    titles = benefit_titles(config.files)
    months = [period]
    for _ in range(within):
        months.append(months[-1].next())
    listed = read_population(population, str(period), county, population_schema)
    raw = read_roster(roster, roster_schema, roster.name)
    checked_roster = validate(raw, roster_schema, str(period), county)
    on_roster = checked_roster.accepted.select(
        ROW, "id_number", "id_key", "name", "township", "hukou_code", "birth_date", "death_date"
    )
    roster_keys = pl.concat(
        [on_roster.get_column("id_key"), _roster_keys(checked_roster.rejected, roster_schema)]
    )
    report, rules = coverage(config, months, decidable_fields(population_schema, roster_schema), titles)

    people = listed.people
    mismatch = pl.col("birth_date") != pl.col("id_birth")
    ended = pl.col("status").is_in(list(ENDED))
    candidates = people.filter(~pl.col("id_key").is_in(roster_keys.implode()) & ~ended.fill_null(False))
    found = _candidates(candidates, rules, months, config)
    rule_names = pl.Series([r.name for r in rules], dtype=pl.String)
    rule_benefits = pl.Series([r.benefit for r in rules], dtype=pl.String)
    basis = AGE_BASES_ZH.get(config.age_basis, config.age_basis)
    who = candidates.select(pl.all().gather(found.get_column("pos")))
    refs = {str(m): reference_date(m, config.age_basis) for m in months}
    age = pl.coalesce(
        [pl.when(pl.col("month") == m).then(age_on(pl.col("birth_date"), ref)) for m, ref in refs.items()]
    )
    from_list = (
        pl.concat([who, found.drop("pos")], how="horizontal")
        .with_columns(
            benefit=rule_benefits.gather(found.get_column("rule_index")),
            rule=rule_names.gather(found.get_column("rule_index")),
        )
        .with_columns(age=age)
        .with_columns(
            detail=pl.format(
                "{}: 户籍 {}, aged {} in {} (age basis: {}); not on the roster: verify and add them if entitled",
                pl.when(pl.col("finding") == "missing_from_roster")
                .then(pl.lit("meets the conditions of ") + pl.col("rule").str.split("#").list.last())
                .otherwise(
                    pl.lit("meets the conditions of ")
                    + pl.col("rule").str.split("#").list.last()
                    + pl.lit(" from ")
                    + pl.col("month")
                ),
                pl.col("hukou_code"),
                pl.col("age"),
                pl.col("month"),
                pl.lit(basis),
            )
            + _birth_note(mismatch),
            population_row=pl.col(ROW),
            roster_row=pl.lit(None, pl.Int64),
            township=pl.col("township").fill_null(UNKNOWN_TOWNSHIP),
        )
    )

    list_keys = people.get_column("id_key").implode()
    list_codes = people.get_column("hukou_code").unique().implode()
    set_aside = _list_keys(listed, population_schema).implode()
    first_ref = reference_date(period, config.age_basis)
    # a roster person of a 户籍 code the list holds nobody of is another county's: the list cannot tell
    not_listed = on_roster.filter(~pl.col("id_key").is_in(list_keys))
    covered = pl.col("hukou_code").is_in(list_codes)
    uncovered = dict(sorted(not_listed.filter(~covered).group_by("hukou_code").len().iter_rows()))
    absent = not_listed.filter(covered).with_columns(
        finding=pl.lit("not_on_population_list"),
        age=age_on(pl.col("birth_date"), first_ref),
        detail=pl.lit(
            "on the roster, not on the population list: moved out, died, or a wrong ID number? verify"
        )
        + pl.when(pl.col("id_key").is_in(set_aside))
        .then(pl.lit("; the list has this ID number only in rows it set aside (see the list's problems)"))
        .otherwise(pl.lit(""))
        + pl.when(pl.col("death_date").is_not_null())
        .then(pl.lit("; the roster records a death in ") + pl.col("death_date").dt.strftime("%Y-%m"))
        .otherwise(pl.lit("")),
        population_row=pl.lit(None, pl.Int64),
        roster_row=pl.col(ROW),
    )
    status_zh = pl.col("status").replace_strict(ENDED, default=None)
    ended_on_roster = (
        people.filter(ended.fill_null(False))
        .join(
            on_roster.select(
                "id_key",
                pl.col(ROW).alias("roster_row"),
                pl.col("township").alias("roster_township"),
                "death_date",
            ),
            on="id_key",
            how="inner",
        )
        # a death the roster records already stops payment by itself (RULES.md Death): nothing to verify
        .filter(~((pl.col("status") == "dead") & pl.col("death_date").is_not_null()))
        .with_columns(
            finding=pl.lit("population_status"),
            township=pl.col("roster_township"),
            age=age_on(pl.col("birth_date"), first_ref),
            detail=pl.lit("the population list says ")
            + status_zh
            + pl.lit(" (")
            + pl.col("status")
            + pl.lit("); the roster still lists them: verify before the next run")
            + pl.when(pl.col("death_date").is_not_null())
            .then(pl.lit("; the roster records a death in ") + pl.col("death_date").dt.strftime("%Y-%m"))
            .otherwise(pl.lit(""))
            + _birth_note(mismatch),
            population_row=pl.col(ROW),
        )
    )
    on_both = [ended_on_roster, absent]
    findings = _ordered(
        [
            from_list,
            *(
                f.with_columns(
                    benefit=pl.lit(None, pl.String), rule=pl.lit(None, pl.String), month=pl.lit(str(period))
                )
                for f in on_both
            ),
        ],
        str(period),
        county,
    )
    summary = _summary(config, period, months, listed, checked_roster, raw.source, report, findings)
    summary["roster"]["not_compared_by_hukou_code"] = uncovered
    return Result(findings, listed.problems, summary, config.name, titles)


def _birth_note(mismatch: pl.Expr) -> pl.Expr:
    return (
        pl.when(mismatch)
        .then(
            pl.lit("; the list's 出生日期 differs from the date of birth in the ID number (born ")
            + pl.col("birth_date").dt.strftime("%Y-%m")
            + pl.lit(" on the list, ")
            + pl.col("id_birth").dt.strftime("%Y-%m")
            + pl.lit(" in the ID); the list's date is used")
        )
        .otherwise(pl.lit(""))
    )


def _ordered(parts: list[pl.DataFrame], period: str, county: str) -> pl.DataFrame:
    """The findings in FINDING_SCHEMA, ordered by finding (closed-set order), ID number, benefit, month."""
    rank = {f: i for i, f in enumerate(FINDINGS)}
    frame = pl.concat(
        [
            p.with_columns(period=pl.lit(period), county=pl.lit(county))
            .select(pl.col(name).cast(dtype) for name, dtype in FINDING_SCHEMA.items())
            .with_columns(pl.col("id_number"), key=p.get_column("id_key"))
            for p in parts
        ]
    )
    return (
        frame.with_columns(rank=pl.col("finding").replace_strict(rank, return_dtype=pl.UInt8))
        .sort("rank", "key", "benefit", "month", nulls_last=True)
        .select(FINDING_SCHEMA.names())
    )


def _summary(
    config: CountyConfig,
    period: Period,
    months: list[Period],
    listed: PopulationList,
    roster: Any,
    roster_path: Path,
    report: list[dict[str, Any]],
    findings: pl.DataFrame,
) -> dict[str, Any]:
    counts = dict.fromkeys(FINDINGS, 0) | dict(findings.group_by("finding").len().iter_rows())
    townships = (
        findings.group_by("township", "finding").len().sort("township", "finding").iter_rows(named=True)
    )
    by_township: dict[str, dict[str, int]] = {}
    for row in townships:
        by_township.setdefault(row["township"], dict.fromkeys(FINDINGS, 0))[row["finding"]] = row["len"]
    problems = listed.problems.filter(pl.col("outcome") == "rejected")
    statuses = listed.people.get_column("status").fill_null("normal").value_counts(sort=True)
    return {
        "county": config.county,
        "county_name": config.name,
        "period": str(period),
        "months_checked": [str(m) for m in months],
        "age_basis": config.age_basis,
        "paid": NOTHING_PAID,
        "population_list": {
            "file": listed.source.name,
            "sha256": sha256_file(listed.source),
            "rows_read": listed.rows_read,
            "rows_used": listed.people.height,
            "rows_rejected": listed.rejected_rows,
            "problems_by_code": dict(sorted(problems.group_by("problem").len().iter_rows())),
            "birth_date_mismatches": listed.mismatches,
            "ids_converted_from_15_digits": int(listed.people.get_column("from_15_digits").sum()),
            "status": dict(sorted(statuses.iter_rows())),
            "skipped_rows": listed.skipped,
        },
        "roster": {
            "file": roster_path.name,
            "sha256": sha256_file(roster_path),
            "rows_read": roster.rows_read,
            "rows_accepted": roster.accepted.height,
            "rows_rejected": roster.rejected_rows,
        },
        "benefits": report,
        "findings": counts,
        "findings_by_township": by_township,
    }
