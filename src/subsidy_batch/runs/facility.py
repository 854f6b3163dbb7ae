"""The yearly facility run, declared as its steps: load the facility rules, read the facility roster,
then validate -> conditions and amounts -> write outputs and bank files, reconciled by the lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.outputs import bank, emit
from subsidy_batch.outputs.bank import bank_account_ok
from subsidy_batch.outputs.workbook import REJECTED_XLSX, write_rejected_xlsx
from subsidy_batch.roster.read import RawRoster, default_roster, refuse_empty
from subsidy_batch.roster.schema import SCHEMA_DIR, RosterSchema, load_schema
from subsidy_batch.roster.validate import check_rows, typed_accepted
from subsidy_batch.rules.config import CountyConfig, load_county
from subsidy_batch.rules.facilities import FacilityConfig, facility_items, load_facility_config
from subsidy_batch.runs import lifecycle
from subsidy_batch.runs.lifecycle import (
    Context,
    Kind,
    Loaded,
    Outcome,
    Plan,
    Progress,
    Reading,
    RunResult,
    Source,
)
from subsidy_batch.runs.store import RunPaths
from subsidy_batch.runs.totals import item_totals, outputs, reconcile

KIND_NAME = "facilities"


def label(year: int) -> str:
    """The run's period key: runs/<county>/facilities-<year>/, rosters/<county>/facilities-<year>.*"""
    return f"{KIND_NAME}-{year}"


def year_of(period_key: str) -> int:
    return int(period_key.removeprefix(f"{KIND_NAME}-"))


@dataclass(frozen=True)
class FacilityRunRequest:
    year: int
    county: str
    roster: Path | None = None
    runs_dir: Path = Path("runs")
    config_dir: Path = Path("config")
    rosters_dir: Path = Path("rosters")
    schema_dir: Path = SCHEMA_DIR
    supersede_reason: str | None = None


def run_facilities(request: FacilityRunRequest, progress: Progress = lambda _: None) -> RunResult:
    """Compute, write, reconcile and publish the accepted facility run of one county and year."""
    schema = load_schema("facility", schema_dir=request.schema_dir)
    config = load_facility_config(request.config_dir, request.county, schema)
    if config.months_in_force(request.year) == 0:
        raise NoRuleInForceError(
            f"the facility subsidies of {request.county} are in force {config.start} to {config.end}; "
            f"{request.year} is outside that"
        )
    roster = request.roster or default_roster(request.rosters_dir, request.county, label(request.year))
    refuse_empty(roster)
    persons = load_schema(schema_dir=request.schema_dir)  # the county file's person rules need it
    files = load_county(request.config_dir, request.county, persons).files  # facility rules live there
    plan = Plan(
        KIND,
        RunPaths(request.runs_dir, request.county, label(request.year)),
        (Source("roster", roster, f"roster{roster.suffix.lower()}"),),
        request.config_dir,
        files,
        (schema.path, persons.path),
        {"roster": str(roster), "runs_dir": str(request.runs_dir), "config_dir": str(request.config_dir)},
        supersede_reason=request.supersede_reason,
    )
    return lifecycle.run(plan, progress)


Rules = tuple[RosterSchema, FacilityConfig, CountyConfig]


def _load(ctx: Context) -> tuple[Rules, Loaded]:
    schema = load_schema("facility", schema_dir=ctx.schema_dir)
    config = load_facility_config(ctx.config_dir, ctx.county, schema)
    persons = load_schema(schema_dir=ctx.schema_dir)
    county = load_county(ctx.config_dir, ctx.county, persons)
    loaded = Loaded(
        config.name, county.files, ((schema.path, schema.version), (persons.path, persons.version))
    )
    return (schema, config, county), loaded


def _read(ctx: Context, rules: Rules) -> Reading[RawRoster]:
    raw: RawRoster = ctx.read_roster(rules[0])
    facts = {"rows": raw.frame.height, "encoding": raw.encoding, **raw.sheet_facts()}
    log_facts = facts | {"ignored_columns": list(raw.ignored_columns), **raw.skipped}
    return Reading(raw, {"roster": facts}, log_facts)


def _compute(ctx: Context, rules: Rules, raw: RawRoster) -> Outcome:
    schema, config, county_config = rules
    year, county, staging, stages = year_of(ctx.label), ctx.county, ctx.staging, ctx.stages
    encoding = county_config.bank_file_encoding
    year_text = str(year)
    with stages.stage("validate", f"checking {raw.frame.height} facilities") as facts:
        checked = check_rows(raw, schema, year_text, county, key="facility_id")
        facts.update(accepted=checked.accepted.height, rejected=checked.rejected.get_column("row").n_unique())
    with stages.stage("compute", "applying conditions and amounts") as facts:
        accepted = typed_accepted(
            checked, schema, bank_account_ok(schema.account_digits).alias("bank_account_ok")
        )
        items, ineligible = facility_items(accepted, config, year)
        pays = (
            items.filter(pl.col("status") == "paid")
            .group_by("facility_id", "name", "bank_name", "bank_account")
            .agg(amount_fen=pl.col("amount_fen").sum(), items=pl.len().cast(pl.Int32))
            .sort("facility_id")
        )
        facts.update(line_items=items.height, ineligible=ineligible.height, payees=pays.height)
    with stages.stage("write", "writing outputs"):
        for name, frame, layout in (
            ("line_items.parquet", items, emit.FACILITY_LINE_ITEMS),
            ("payments.parquet", pays, emit.FACILITY_PAYMENTS),
            ("ineligible.parquet", ineligible, emit.INELIGIBLE),
            ("rejected.parquet", checked.rejected, emit.REJECTED),
        ):
            table = emit.to_output(frame.with_columns(year=pl.lit(year_text)), layout, year_text, county)
            emit.write_parquet(table, staging / name)
        write_rejected_xlsx(
            checked.rejected,
            staging / REJECTED_XLSX,
            f"{config.name}{year}年 机构名册中有问题的行（{checked.rejected.get_column('row').n_unique()} 行，"
            f"{checked.rejected.height} 个问题）",
            {spec.name: spec.zh for spec in schema.columns.values()},
            datetime(year, 1, 1),
        )
    with stages.stage("bank_files", "writing bank files") as facts:
        bank_files = bank.write_bank_files(
            pays.rename({"facility_id": "id_number"}),
            staging / "bank",
            ctx.run_id,
            year_text,
            config.memo(year),
            encoding,
            layouts=county_config.bank_layouts,
        )
        facts.update(banks=len(bank_files))
    totals = _totals(
        raw.frame.height, checked.accepted.height, checked.rejected, items, ineligible, pays, config
    )
    rows = (raw.frame.height, checked.accepted.height, totals["facilities_rejected"])
    written = {
        "line_items.parquet": items.height,
        "payments.parquet": pays.height,
        "ineligible.parquet": ineligible.height,
        "rejected.parquet": checked.rejected.height,
        REJECTED_XLSX: checked.rejected.height,
    }
    return Outcome(
        outputs=outputs(written, bank_files),
        totals=totals,
        facts={
            "year": year,
            "months_in_force": config.months_in_force(year),
            "rating_factors": {
                k: ("not set: " + config.factor_reasons[k]) if v is None else config.factor_reasons[k]
                for k, v in config.factors.items()
            },
        },
        reconcile=lambda: reconcile(staging, rows, totals, bank_files, encoding),
        summary={"paid_facilities": pays.height, "paid_amount": totals["paid_amount"]},
    )


KIND: Kind[Rules, RawRoster] = Kind(KIND_NAME, _load, _read, _compute)


def _totals(
    rows_read: int,
    accepted: int,
    rejected: pl.DataFrame,
    items: pl.DataFrame,
    ineligible: pl.DataFrame,
    pays: pl.DataFrame,
    config: Any,
) -> dict[str, Any]:
    totals = item_totals(items, sorted(rule.benefit for rule in config.rules.values()))
    for benefit, facts in totals["by_benefit"].items():
        facts["ineligible_facilities"] = (
            ineligible.filter(pl.col("benefit") == benefit).get_column("facility_id").n_unique()
        )
    return {
        "facilities_read": rows_read,
        "facilities_accepted": accepted,
        "facilities_rejected": rejected.get_column("row").n_unique(),
        "facilities_ineligible": ineligible.get_column("facility_id").n_unique() if ineligible.height else 0,
        "paid_facilities": pays.height,
        **totals,
    }
