"""The yearly facility run: read -> validate -> conditions and amounts -> emit -> reconcile -> publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from subsidy_batch import __version__
from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.outputs import bank, emit
from subsidy_batch.outputs.bank import bank_account_ok
from subsidy_batch.roster.read import default_roster
from subsidy_batch.roster.schema import SCHEMA_DIR, load_schema
from subsidy_batch.roster.validate import check_rows, typed_accepted
from subsidy_batch.rules.config import load_county
from subsidy_batch.rules.facilities import facility_items, load_facility_config
from subsidy_batch.runs import audit
from subsidy_batch.runs.monthly import (
    INPUT,
    MANIFEST_VERSION,
    Progress,
    RunResult,
    Stages,
    item_totals,
    log_read,
    outputs,
    publish_run,
    read_and_fingerprint,
    reconcile,
    snapshot,
)
from subsidy_batch.runs.store import RunPaths

log = structlog.get_logger()
KIND = "facilities"


def label(year: int) -> str:
    """The run's period key: runs/<county>/facilities-<year>/, rosters/<county>/facilities-<year>.*"""
    return f"{KIND}-{year}"


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

    def build(staging: Path, revision: int, stale_note: str | None) -> dict[str, Any]:
        # facility rules live in the county file
        files = load_county(request.config_dir, request.county, load_schema(schema_dir=request.schema_dir)).files
        persons = load_schema(schema_dir=request.schema_dir).path  # the county file's person rules need it
        inputs = snapshot(staging, roster, files, request.config_dir, (schema.path, persons))
        return execute_facilities(
            inputs, request.county, request.year, revision, roster.name, progress, stale_note
        )

    paths = RunPaths(request.runs_dir, request.county, label(request.year))
    arguments = {
        "roster": str(roster),
        "runs_dir": str(request.runs_dir),
        "config_dir": str(request.config_dir),
    }
    return publish_run(paths, roster, build, request.supersede_reason, arguments, progress)


def execute_facilities(
    inputs: Path,
    county: str,
    year: int,
    revision: int,
    source_name: str,
    progress: Progress,
    stale_note: str | None = None,
) -> dict[str, Any]:
    """Every stage from a run folder's input/ snapshot; returns the manifest."""
    staging = inputs.parent
    config_dir = inputs / "config"
    schema = load_schema("facility", schema_dir=inputs / "schemas")
    config = load_facility_config(config_dir, county, schema)
    roster_schema = load_schema(schema_dir=inputs / "schemas")
    county_config = load_county(config_dir, county, roster_schema)
    encoding = county_config.bank_file_encoding
    raw, read_seconds, (roster, roster_sha, schema_shas, config_entries, run_id) = read_and_fingerprint(
        inputs,
        schema,
        source_name,
        progress,
        (county, label(year), revision, county_config.files),
        (schema.path, roster_schema.path),
    )
    stages = Stages(progress)
    year_text = str(year)
    with audit.audit_to(staging / "audit.jsonl", run_id=run_id, county=county, period=label(year)):
        log_read(stages, raw, read_seconds, revision, stale_note)
        with stages.stage("validate", f"checking {raw.frame.height} facilities") as facts:
            checked = check_rows(raw, schema, year_text, county, key="facility_id")
            facts.update(
                accepted=checked.accepted.height, rejected=checked.rejected.get_column("row").n_unique()
            )
        with stages.stage("compute", "applying conditions and amounts") as facts:
            accepted = typed_accepted(checked, schema, bank_account_ok().alias("bank_account_ok"))
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
        with stages.stage("bank_files", "writing bank files") as facts:
            bank_files = bank.write_bank_files(
                pays.rename({"facility_id": "id_number"}),
                staging / "bank",
                run_id,
                year_text,
                config.memo(year),
                encoding,
            )
            facts.update(banks=len(bank_files))
        totals = _totals(
            raw.frame.height, checked.accepted.height, checked.rejected, items, ineligible, pays, config
        )
        with stages.stage("reconcile", "reconciling totals"):
            rejected_rows = totals["facilities_rejected"]
            reconcile(
                staging,
                (raw.frame.height, checked.accepted.height, rejected_rows),
                totals,
                bank_files,
                encoding,
            )
        log.info("run_complete", paid_facilities=pays.height, paid_amount=totals["paid_amount"])
    return {
        "manifest_version": MANIFEST_VERSION,
        "kind": KIND,
        "tool": "subsidy-batch",
        "tool_version": __version__,
        "run_id": run_id,
        "revision": revision,
        "county": county,
        "county_name": config.name,
        "period": label(year),
        "year": year,
        "months_in_force": config.months_in_force(year),
        "status": "accepted",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": [
            {
                "file": f"{INPUT}/{roster.name}",
                "original_name": source_name,
                "sha256": roster_sha,
                "rows": raw.frame.height,
                "encoding": raw.encoding,
            }
        ],
        "schema": {"file": schema.path.name, "sha256": schema_shas[0], "version": schema.version},
        "schemas": [
            {"file": s.path.name, "sha256": sha, "version": s.version}
            for s, sha in zip((schema, roster_schema), schema_shas, strict=True)
        ],
        "config": config_entries,
        "rating_factors": {
            k: ("not set: " + config.factor_reasons[k]) if v is None else config.factor_reasons[k]
            for k, v in config.factors.items()
        },
        "outputs": outputs(
            staging,
            {
                "line_items.parquet": items.height,
                "payments.parquet": pays.height,
                "ineligible.parquet": ineligible.height,
                "rejected.parquet": checked.rejected.height,
            },
            bank_files,
        ),
        "totals": totals,
        "stages": stages.done,
    }


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
