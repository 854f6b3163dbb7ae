"""The yearly facility run: read -> validate -> conditions and amounts -> emit -> reconcile -> publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from subsidy_batch import __version__, audit, bank, emit
from subsidy_batch.bank import account_stored_as_number, bank_account_ok
from subsidy_batch.config import load_county
from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.facilities import facility_items, load_facility_config
from subsidy_batch.pipeline import (
    INPUT,
    MANIFEST_VERSION,
    Progress,
    RunResult,
    Stages,
    log_read,
    money_text,
    outputs,
    publish_run,
    read_and_fingerprint,
    reconcile,
    snapshot,
)
from subsidy_batch.read import ACCOUNT_NUMBER_CELL, default_roster
from subsidy_batch.runs import RunPaths
from subsidy_batch.schema import SCHEMA_DIR, load_schema
from subsidy_batch.validate import check_rows

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
    config = load_facility_config(request.config_dir, request.county)
    if config.months_in_force(request.year) == 0:
        raise NoRuleInForceError(
            f"the facility subsidies of {request.county} are in force {config.start} to {config.end}; "
            f"{request.year} is outside that"
        )
    schema = load_schema("facility", schema_dir=request.schema_dir)
    roster = request.roster or default_roster(request.rosters_dir, request.county, label(request.year))

    def build(staging: Path, revision: int, stale_note: str | None) -> dict[str, Any]:
        files = load_county(
            request.config_dir, request.county
        ).files  # facility rules live in the county file
        inputs = snapshot(staging, roster, files, request.config_dir, schema.path)
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
    config = load_facility_config(config_dir, county)
    county_config = load_county(config_dir, county)
    encoding = county_config.bank_file_encoding
    schema = load_schema("facility", schema_dir=inputs / "schemas")
    raw, read_seconds, (roster, roster_sha, schema_sha, config_entries, run_id) = read_and_fingerprint(
        inputs,
        schema,
        source_name,
        progress,
        (county, label(year), revision, county_config.files),
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
            accepted = checked.accepted.with_columns(
                bank_account_ok=bank_account_ok(),
                account_as_number=pl.col(ACCOUNT_NUMBER_CELL).fill_null(False) | account_stored_as_number(),
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
        with stages.stage("bank_files", "writing bank files") as facts:
            bank_files = bank.write_bank_files(
                pays.rename({"facility_id": "id_number"}),
                staging / "bank",
                run_id,
                year_text,
                config.name,
                encoding,
                what="养老服务机构运营补助",
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
        "schema": {"file": schema.path.name, "sha256": schema_sha, "version": schema.version},
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
    paid = items.filter(pl.col("status") == "paid")
    by_benefit = {}
    for rule in sorted(config.rules.values(), key=lambda r: r.benefit):
        mine = items.filter(pl.col("benefit") == rule.benefit)
        paid_b = mine.filter(pl.col("status") == "paid")
        by_benefit[rule.benefit] = {
            "paid_items": paid_b.height,
            "paid_amount": money_text(int(paid_b.get_column("amount_fen").sum())),
            "held_items": mine.height - paid_b.height,
            "ineligible_facilities": ineligible.filter(pl.col("benefit") == rule.benefit)
            .get_column("facility_id")
            .n_unique(),
        }
    held_by_reason = {
        reason: items.filter(pl.col("hold_reason") == reason).height
        for reason in ("standard_not_set", "no_bank_account")
    }
    # listed only when it occurs, so that the totals of runs made before this reason existed reproduce
    number_accounts = items.filter(pl.col("hold_reason") == "account_stored_as_number").height
    if number_accounts:
        held_by_reason["account_stored_as_number"] = number_accounts
    return {
        "facilities_read": rows_read,
        "facilities_accepted": accepted,
        "facilities_rejected": rejected.get_column("row").n_unique(),
        "facilities_ineligible": ineligible.get_column("facility_id").n_unique() if ineligible.height else 0,
        "line_items": items.height,
        "paid_items": paid.height,
        "paid_facilities": pays.height,
        "paid_amount": money_text(int(paid.get_column("amount_fen").sum())),
        "held_items": items.height - paid.height,
        "held_items_by_reason": held_by_reason,
        "by_benefit": by_benefit,
    }
