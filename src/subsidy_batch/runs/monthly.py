"""The monthly run of one county, declared as its steps: load the rules, read the roster, then
validate -> compute -> write outputs and bank files, with the totals the lifecycle reconciles.

Everything that makes it a financial record (lock, snapshot, fingerprint, manifest, publish, supersede,
verify) is the lifecycle's (runs/lifecycle.py), shared with every other kind of run.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from subsidy_batch.errors import ForeignRosterError
from subsidy_batch.outputs import bank, emit
from subsidy_batch.outputs.workbook import REJECTED_XLSX, write_rejected_xlsx
from subsidy_batch.period import Period
from subsidy_batch.roster.read import RawRoster, default_roster, raise_empty, read_roster, refuse_empty
from subsidy_batch.roster.schema import SCHEMA_DIR, RosterSchema, load_schema, start_loading_pandera
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import line_items, payable_rules, payments
from subsidy_batch.rules.config import CountyConfig, county_directory, load_county
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

log = structlog.get_logger()
__all__ = ["KIND", "RunRequest", "RunResult", "run_month"]


@dataclass(frozen=True)
class RunRequest:
    period: Period
    county: str
    roster: Path | None = None
    runs_dir: Path = Path("runs")
    config_dir: Path = Path("config")
    rosters_dir: Path = Path("rosters")
    schema_dir: Path = SCHEMA_DIR
    supersede_reason: str | None = None
    accept_foreign_roster: bool = False  # pay a roster whose 户籍 codes are mostly another county's


def run_month(request: RunRequest, progress: Progress = lambda _: None) -> RunResult:
    """Compute, write, reconcile and publish the accepted run of one county and period."""
    start_loading_pandera()
    period, county = request.period, request.county
    schema = load_schema(schema_dir=request.schema_dir)
    config = load_county(request.config_dir, county, schema)
    payable_rules(config, period)  # fails early when no rule is in force
    roster = request.roster or default_roster(request.rosters_dir, county, str(period))
    refuse_empty(roster)  # before the lock and any run folder: a header alone pays nobody
    arguments: dict[str, Any] = {
        "roster": str(roster),
        "runs_dir": str(request.runs_dir),
        "config_dir": str(request.config_dir),
    }
    if request.accept_foreign_roster:  # only then, so that earlier manifests keep their arguments
        arguments["accept_foreign_roster"] = True
    plan = Plan(
        KIND,
        RunPaths(request.runs_dir, county, str(period)),
        (Source("roster", roster, f"roster{roster.suffix.lower()}"),),
        request.config_dir,
        config.files,
        (schema.path,),
        arguments,
        {
            "accept_foreign_roster": request.accept_foreign_roster,
            "known_counties": known_counties(request.config_dir),
        },
        request.supersede_reason,
    )
    return lifecycle.run(plan, progress)


Rules = tuple[RosterSchema, CountyConfig]


def _load(ctx: Context) -> tuple[Rules, Loaded]:
    schema = load_schema(schema_dir=ctx.schema_dir)
    config = load_county(ctx.config_dir, ctx.county, schema)
    return (schema, config), Loaded(config.name, config.files, ((schema.path, schema.version),))


def _read(ctx: Context, rules: Rules) -> Reading[RawRoster]:
    source = ctx.source("roster")
    ctx.progress(f"reading {source.original_name}…")
    raw = replace(
        read_roster(ctx.path("roster"), rules[0], source.original_name), source=Path(source.original_name)
    )
    return Reading(
        raw,
        {
            "roster": {
                "rows": raw.frame.height,
                "encoding": raw.encoding,
                "ignored_columns": list(raw.ignored_columns),
                "skipped_rows": raw.skipped,
                **raw.sheet_facts(),
            }
        },
        {
            "rows": raw.frame.height,
            "encoding": raw.encoding,
            "ignored_columns": list(raw.ignored_columns),
            **raw.skipped,
        },
    )


def _compute(ctx: Context, rules: Rules, raw: RawRoster) -> Outcome:
    """validate -> compute -> write outputs and bank files, in the staging folder."""
    schema, config = rules
    period, county, staging, stages, progress = (
        Period.parse(ctx.label),
        ctx.county,
        ctx.staging,
        ctx.stages,
        ctx.progress,
    )
    if raw.frame.height == 0:  # a roster too big for refuse_empty to read ahead of the run
        raise_empty(raw.source.name)
    if raw.sheets:
        progress(f"read {len(raw.sheets)} sheets as one roster: " + ", ".join(s.name for s in raw.sheets))
    if raw.skipped_sheets:
        progress("passed over sheets with no roster header: " + ", ".join(raw.skipped_sheets))
    if raw.skipped["title_rows"]:
        progress(f"found the header below {raw.skipped['title_rows']} title row(s)")
    if raw.skipped["blank_rows"] or raw.skipped["total_rows"]:
        progress(
            f"set aside {raw.skipped['blank_rows']} blank row(s) and {raw.skipped['total_rows']} "
            "合计/小计 row(s): they are not people (counted in the manifest)"
        )
    if raw.ignored_columns:
        progress(f"ignored columns not used by the rules: {', '.join(raw.ignored_columns)}")
    with stages.stage("validate", f"checking {raw.frame.height} rows") as facts:
        validated = validate(raw, schema, str(period), county)
        facts.update(accepted=validated.accepted.height, rejected=validated.rejected_rows)
        facts.update(
            refuse_foreign_roster(
                validated.accepted,
                config,
                raw.source.name,
                ctx.options.get("known_counties") or {},
                bool(ctx.options.get("accept_foreign_roster")),
            )
        )
    with stages.stage("compute", "computing entitlements") as facts:
        items = line_items(validated.accepted, config, period)
        pays = payments(items)
        facts.update(line_items=items.height, payees=pays.height)
    progress("writing outputs and bank files…")
    outputs_written = {
        "line_items.parquet": (items, emit.LINE_ITEMS),
        "payments.parquet": (pays, emit.PAYMENTS),
        "rejected.parquet": (validated.rejected, emit.REJECTED),
    }
    # every file is a job of its own on two threads: polars writes Parquet without holding the
    # interpreter, while a bank file is formatted and encoded to GB18030. Each stage's seconds run
    # from the start of the block to its last file, side by side.
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        writing = [
            pool.submit(_write_output, staging / name, frame, layout, str(period), county)
            for name, (frame, layout) in outputs_written.items()
        ]
        bank_files = bank.write_bank_files(
            pays,
            staging / "bank",
            ctx.run_id,
            str(period),
            config.memo(period),
            config.bank_file_encoding,
            pool=pool,
            layouts=config.bank_layouts,
        )
        workbook = pool.submit(
            _write_rejected_workbook,
            staging,
            validated.rejected,
            schema,
            f"{config.name}{period.year}年{period.month}月",
            period,
        )
        bank_seconds = time.perf_counter() - started
        workbook.result()
        write_seconds = max(done.result() for done in writing) - started  # each returns when it ended
    stages.record("write", write_seconds, files=len(outputs_written))
    stages.record("bank_files", bank_seconds, banks=len(bank_files))
    totals = _totals(raw.frame.height, validated, items, pays, config)
    rows = (raw.frame.height, validated.accepted.height, validated.rejected_rows)
    return Outcome(
        outputs=outputs(
            {name: frame.height for name, (frame, _) in outputs_written.items()}
            | {REJECTED_XLSX: validated.rejected.height},
            bank_files,
        ),
        totals=totals,
        facts={"config_gaps": list(config.gaps)},
        reconcile=lambda: reconcile(staging, rows, totals, bank_files, config.bank_file_encoding),
        summary={k: totals[k] for k in ("paid_people", "paid_amount", "held_items")},
    )


KIND: Kind[Rules, RawRoster] = Kind(
    "monthly", _load, _read, _compute, recorded_options=("accept_foreign_roster",)
)


def _totals(
    rows_read: int, validated: Any, items: pl.DataFrame, pays: pl.DataFrame, config: CountyConfig
) -> dict[str, Any]:
    return {
        "people_read": rows_read,
        "people_accepted": validated.accepted.height,
        "people_rejected": validated.rejected_rows,
        "rejection_problems": validated.rejected.height,
        "paid_people": pays.height,
        **item_totals(items, config.benefits),
    }


def _write_rejected_workbook(
    staging: Path, rejected: pl.DataFrame, schema: RosterSchema, what: str, period: Period
) -> None:
    """rejected.xlsx: the rejected rows with Chinese headers, IDs masked, dated the period's first day."""
    write_rejected_xlsx(
        rejected,
        staging / REJECTED_XLSX,
        f"{what} 花名册中有问题的行（{rejected.get_column('row').n_unique()} 行，{rejected.height} 个问题）",
        {spec.name: spec.zh for spec in schema.columns.values()},
        datetime(period.year, period.month, 1),
    )


def _write_output(path: Path, frame: pl.DataFrame, layout: pl.Schema, period: str, county: str) -> float:
    """Write the frame in its contract layout; returns the moment it was done."""
    emit.write_parquet(emit.to_output(frame, layout, period, county), path)
    return time.perf_counter()


def known_counties(config_dir: Path) -> dict[str, str]:
    """division_code -> "name (slug)" of every county config, to name the county a roster looks like."""
    found: dict[str, str] = {}
    for slug, name, code in county_directory(config_dir):
        if code and name:
            found.setdefault(code, f"{name} ({slug})")
    return found


def refuse_foreign_roster(
    accepted: pl.DataFrame, config: CountyConfig, source_name: str, known: dict[str, str], accept: bool
) -> dict[str, Any]:
    """Refuse a roster whose accepted rows mostly have another 户籍 code than the county's division code.

    A roster whose every row was rejected is not refused (it is reported). Returns the facts for the
    audit log.
    """
    rows = accepted.height
    codes = accepted.get_column("hukou_code")
    home = int((codes == config.division_code).sum())
    facts: dict[str, Any] = {"home_hukou_rows": home, "accepted_rows": rows}
    if rows == 0 or Decimal(home) >= config.min_home_hukou_share * rows:
        return facts
    if accept:
        return facts | {"foreign_roster_accepted": True}
    counted = codes.value_counts(name="n").sort(["n", "hukou_code"], descending=[True, False])
    top = str(counted.item(0, "hukou_code"))
    named = known.get(top, "not a county in config/counties")
    share = (Decimal(100 * home) / rows).quantize(Decimal("0.1"))
    raise ForeignRosterError(
        f"roster {source_name} looks like another county's: only {home} of its {rows} accepted rows "
        f"({share}%) have {config.name}'s 户籍 code {config.division_code}, below min_home_hukou_share "
        f"{config.min_home_hukou_share}, and the most common code is {top} ({named}); check --county and "
        f"--roster, or pass --accept-foreign-roster to pay this roster for {config.county} deliberately"
    )
