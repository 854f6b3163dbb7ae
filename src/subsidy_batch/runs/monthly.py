"""The monthly run, stage by stage: read -> validate -> compute -> emit -> reconcile -> publish."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import structlog

from subsidy_batch import __version__
from subsidy_batch.errors import (
    ForeignRosterError,
    ReconciliationError,
    StorageError,
    UsageError,
)
from subsidy_batch.money import fen_text, fen_to_yuan
from subsidy_batch.outputs import bank, emit
from subsidy_batch.period import Period
from subsidy_batch.roster.read import RawRoster, default_roster, raise_empty, read_roster, refuse_empty
from subsidy_batch.roster.schema import SCHEMA_DIR, load_schema, start_loading_pandera
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import HOLD_REASONS, line_items, payable_rules, payments
from subsidy_batch.rules.config import CountyConfig, county_directory, load_county
from subsidy_batch.runs import audit
from subsidy_batch.runs.store import (
    MANIFEST,
    RunPaths,
    locked,
    next_revision,
    publish,
    refuse_if_accepted,
    supersede,
)

MANIFEST_VERSION = 1
INPUT = "input"  # the run's own copy of roster, config and schema
log = structlog.get_logger()
Progress = Callable[[str], None]


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


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    manifest: dict[str, Any]


class Stages:
    """Timings and closed-set status per stage, for the manifest and the audit log."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str, label: str) -> Iterator[dict[str, Any]]:
        self.progress(f"{label}…")
        started = time.perf_counter()
        facts: dict[str, Any] = {}
        yield facts
        self.record(name, time.perf_counter() - started, **facts)

    def record(self, name: str, seconds: float, **facts: Any) -> None:
        """A stage timed elsewhere (one that ran beside another)."""
        self.done.append({"stage": name, "status": "ok", "seconds": round(seconds, 3)})
        log.info(f"{name}_done", seconds=round(seconds, 3), **facts)


def run_id_for(county: str, period: Period | str, revision: int, input_digests: list[str]) -> str:
    """Derived from what the run reads and its revision, so a reproduction gets the same id and bank batch id."""
    digest = hashlib.sha256("|".join([__version__, str(revision), *input_digests]).encode()).hexdigest()
    return f"{county}-{period}-{revision}-{digest[:10]}"


def item_totals(items: pl.DataFrame, benefits: list[str]) -> dict[str, Any]:
    """Paid and held counts and amounts of line items, overall, by hold reason and by benefit.

    Every benefit named keeps its row in reports, even with nothing paid. One aggregation over the few
    columns needed: filtering the whole item frame would copy its text.
    """
    counts = (
        items.lazy()
        .group_by("benefit", "status", "hold_reason")
        .agg(n=pl.len(), fen=pl.col("amount_fen").sum())
        .collect()
        .rows(named=True)
    )
    paid = [c for c in counts if c["status"] == "paid"]
    by_benefit = {}
    for benefit in benefits:
        of_benefit = [c for c in counts if c["benefit"] == benefit]
        paid_b = [c for c in of_benefit if c["status"] == "paid"]
        by_benefit[benefit] = {
            "paid_items": sum(c["n"] for c in paid_b),
            "paid_amount": fen_text(sum(c["fen"] for c in paid_b)),
            "held_items": sum(c["n"] for c in of_benefit) - sum(c["n"] for c in paid_b),
        }
    return {
        "line_items": items.height,
        "paid_items": sum(c["n"] for c in paid),
        "paid_amount": fen_text(sum(c["fen"] for c in paid)),
        "held_items": sum(c["n"] for c in counts if c["status"] == "held"),
        "held_items_by_reason": {
            reason: sum(c["n"] for c in counts if c["status"] == "held" and c["hold_reason"] == reason)
            for reason in HOLD_REASONS
        },
        "by_benefit": by_benefit,
    }


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


def reconcile(
    staging: Path,
    rows: tuple[int, int, int],
    totals: dict[str, Any],
    bank_files: list[bank.BankFile],
    encoding: str,
) -> None:
    """Re-read what was written and check every total agrees; any mismatch stops the run.

    rows = (read, accepted, rejected); totals holds paid_amount, paid_items and by_benefit.
    """
    problems = []
    if rows[0] != rows[1] + rows[2]:
        problems.append(f"rows read {rows[0]} != rows accepted {rows[1]} + rows rejected {rows[2]}")
    items = pl.read_parquet(staging / "line_items.parquet", columns=["benefit", "status", "amount"])
    items = items.select(pl.col("benefit", "amount").filter(pl.col("status") == "paid"))
    pays = pl.read_parquet(staging / "payments.parquet", columns=["amount", "items"])
    paid_items = items.get_column("amount").sum() or Decimal(0)
    paid_people = pays.get_column("amount").sum() or Decimal(0)
    bank_total = Decimal(0)
    bank_count = 0
    for bf in bank_files:
        control, details = bank.read_bank_file(bf.path, encoding, text_fields=False)
        lines_total = fen_to_yuan(int(details.get_column("amount_fen").sum()))
        if control["items"] != details.height or control["total"] != lines_total:
            problems.append(f"{bf.path.name}: control record disagrees with its detail records")
        bank_total += Decimal(str(control["total"]))
        bank_count += int(str(control["items"]))
    expected = Decimal(totals["paid_amount"])
    if not paid_items == paid_people == bank_total == expected:
        problems.append(
            f"paid line items {paid_items} / payments {paid_people} / bank files {bank_total} / totals {expected}"
        )
    if bank_count != pays.height or pays.get_column("items").sum() != totals["paid_items"]:
        problems.append("payee or item counts differ between payments and bank files")
    written = dict(items.group_by("benefit").agg(pl.col("amount").sum()).iter_rows())
    for benefit, facts in totals["by_benefit"].items():
        got = written.get(benefit)
        if Decimal(got or 0) != Decimal(facts["paid_amount"]):
            problems.append(f"benefit {benefit}: written {got} != computed {facts['paid_amount']}")
    if problems:
        raise ReconciliationError("totals do not reconcile, nothing was accepted: " + "; ".join(problems))


def run_month(request: RunRequest, progress: Progress = lambda _: None) -> RunResult:
    """Compute, write, reconcile and publish the accepted run of one county and period."""
    start_loading_pandera()
    period, county = request.period, request.county
    schema = load_schema(schema_dir=request.schema_dir)
    config = load_county(request.config_dir, county, schema)
    payable_rules(config, period)  # fails early when no rule is in force
    roster = request.roster or default_roster(request.rosters_dir, county, str(period))

    def build(staging: Path, revision: int, stale_note: str | None) -> dict[str, Any]:
        inputs = snapshot(staging, roster, config.files, request.config_dir, (schema.path,))
        return execute(
            inputs,
            county,
            period,
            revision,
            roster.name,
            progress,
            stale_note,
            accept_foreign=request.accept_foreign_roster,
            known_counties=known_counties(request.config_dir),
        )

    paths = RunPaths(request.runs_dir, county, str(period))
    arguments: dict[str, Any] = {
        "roster": str(roster),
        "runs_dir": str(request.runs_dir),
        "config_dir": str(request.config_dir),
    }
    if request.accept_foreign_roster:  # only then, so that earlier manifests keep their arguments
        arguments["accept_foreign_roster"] = True
    return publish_run(paths, roster, build, request.supersede_reason, arguments, progress)


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


def publish_run(
    paths: RunPaths,
    roster: Path,
    build: Callable[[Path, int, str | None], dict[str, Any]],
    supersede_reason: str | None,
    arguments: dict[str, Any],
    progress: Progress,
) -> RunResult:
    """Refuse a second run, take the lock, build the run in a staging folder, and publish it atomically."""
    refuse_empty(roster)  # before the lock and any run folder: a header alone pays nobody
    what = f"{paths.county} {paths.period}"
    if supersede_reason is None:
        refuse_if_accepted(paths)
    elif not supersede_reason.strip():
        raise UsageError('--supersede needs a reason, e.g. --supersede "corrected bank accounts"')
    try:
        return _locked_build(paths, build, supersede_reason, arguments, progress, what)
    except OSError as exc:  # the runs folder is read-only, full, or not a folder
        where = exc.filename or paths.county_dir
        raise StorageError(
            f"cannot write the run of {what} under {paths.runs_dir} ({where}: {exc.strerror or exc}); "
            "check that the runs folder exists, is writable and has free space, then run again"
        ) from exc


def _locked_build(
    paths: RunPaths,
    build: Callable[[Path, int, str | None], dict[str, Any]],
    supersede_reason: str | None,
    arguments: dict[str, Any],
    progress: Progress,
    what: str,
) -> RunResult:
    with locked(paths) as stale_note:
        if stale_note:
            progress(stale_note)
        if supersede_reason is None:
            refuse_if_accepted(paths)
        elif not paths.accepted.exists():
            raise UsageError(f"there is no accepted run of {what} to supersede; run without --supersede")
        staging = paths.staging()
        shutil.rmtree(staging, ignore_errors=True)
        try:
            manifest = build(staging, next_revision(paths), stale_note)
            if supersede_reason is not None:
                manifest["supersedes"] = supersede(
                    paths, supersede_reason, manifest["run_id"], manifest["created_at"]
                )
            manifest["arguments"] = {**arguments, "supersede": supersede_reason}
            emit.write_json(manifest, staging / MANIFEST)
            publish(staging, paths)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return RunResult(paths.accepted, manifest)


def snapshot(
    staging: Path, roster: Path, config_files: tuple[Path, ...], config_dir: Path, schemas: tuple[Path, ...]
) -> Path:
    """Copy the roster, the config files and the schemas into the run, so it can be re-run from itself."""
    inputs = staging / INPUT
    (inputs / "config").mkdir(parents=True)
    shutil.copyfile(roster, inputs / f"roster{roster.suffix.lower()}")
    for path in config_files:
        target = inputs / "config" / path.relative_to(config_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (inputs / "schemas").mkdir()
    for schema in schemas:
        shutil.copyfile(schema, inputs / "schemas" / schema.name)
    return inputs


def read_and_fingerprint(
    inputs: Path,
    schema: Any,
    source_name: str,
    progress: Progress,
    identity: tuple[str, str, int, tuple[Path, ...]],
    schemas: tuple[Path, ...],
) -> tuple[RawRoster, float, tuple[Path, str, list[str], list[dict[str, str]], str]]:
    """Read the roster snapshot while fingerprint() works out its checksums and the run id on a second
    thread (identity: county, period or year label, revision, config files).

    Hashing lets go of the interpreter, as polars does while it reads, so the checksum of a roster of
    millions costs no wall time. Returns the roster (reported under the clerk's file name), the seconds
    the read took, and the fingerprint.
    """
    with ThreadPoolExecutor(max_workers=1) as hasher:
        digests = hasher.submit(fingerprint, inputs, *identity, schemas)
        progress(f"reading {source_name}…")
        started = time.perf_counter()
        raw = replace(read_roster(_roster_in(inputs), schema, source_name), source=Path(source_name))
        return raw, time.perf_counter() - started, digests.result()


def log_read(stages: Stages, raw: RawRoster, seconds: float, revision: int, stale_note: str | None) -> None:
    """The run's first audit lines: its start, then the read stage (timed before the run id was known)."""
    log.info(
        "run_started",
        tool_version=__version__,
        revision=revision,
        roster=raw.source.name,
        stale_lock=stale_note,
    )
    stages.record(
        "read",
        seconds,
        rows=raw.frame.height,
        encoding=raw.encoding,
        ignored_columns=list(raw.ignored_columns),
        **raw.skipped,
    )


def _roster_in(inputs: Path) -> Path:
    (roster,) = sorted(inputs.glob("roster.*"))
    return roster


def fingerprint(
    inputs: Path, county: str, label: str, revision: int, config_files: tuple[Path, ...], schemas: tuple[Path, ...]
) -> tuple[Path, str, list[str], list[dict[str, str]], str]:
    """The run's roster snapshot, the sha256 of roster, schemas and each config file, and the run id."""
    roster = _roster_in(inputs)
    config = [
        {"file": str(p.relative_to(inputs / "config")), "sha256": emit.sha256_file(p)} for p in config_files
    ]
    roster_sha, schema_shas = emit.sha256_file(roster), [emit.sha256_file(s) for s in schemas]
    run_id = run_id_for(county, label, revision, [roster_sha, *schema_shas, *(c["sha256"] for c in config)])
    return roster, roster_sha, schema_shas, config, run_id


def execute(
    inputs: Path,
    county: str,
    period: Period,
    revision: int,
    source_name: str,
    progress: Progress,
    stale_note: str | None = None,
    accept_foreign: bool = False,
    known_counties: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run every stage from a run folder's input/ snapshot, writing outputs beside it; returns the manifest.

    accept_foreign: pay a roster whose 户籍 codes are mostly another county's (--accept-foreign-roster);
    known_counties names the county such a roster looks like (division code -> name).
    """
    staging = inputs.parent
    config_dir = inputs / "config"
    schema = load_schema(schema_dir=inputs / "schemas")
    config = load_county(config_dir, county, schema)
    raw, read_seconds, (snapshot, roster_sha, (schema_sha,), config_entries, run_id) = read_and_fingerprint(
        inputs,
        schema,
        source_name,
        progress,
        (county, str(period), revision, config.files),
        (schema.path,),
    )
    stages = Stages(progress)
    with audit.audit_to(staging / "audit.jsonl", run_id=run_id, county=county, period=str(period)):
        log_read(stages, raw, read_seconds, revision, stale_note)
        if raw.frame.height == 0:  # a roster too big for refuse_empty to read ahead of the run
            raise_empty(raw.source.name)
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
                    validated.accepted, config, source_name, known_counties or {}, accept_foreign
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
                pays, staging / "bank", run_id, str(period), config.memo(period), config.bank_file_encoding, pool=pool
            )
            bank_seconds = time.perf_counter() - started
            write_seconds = max(done.result() for done in writing) - started  # each returns when it ended
        stages.record("write", write_seconds, files=len(outputs_written))
        stages.record("bank_files", bank_seconds, banks=len(bank_files))
        totals = _totals(raw.frame.height, validated, items, pays, config)
        with stages.stage("reconcile", "reconciling totals"):
            reconcile(
                staging,
                (raw.frame.height, validated.accepted.height, validated.rejected_rows),
                totals,
                bank_files,
                config.bank_file_encoding,
            )
        log.info("run_complete", **{k: totals[k] for k in ("paid_people", "paid_amount", "held_items")})
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": "subsidy-batch",
        "tool_version": __version__,
        "run_id": run_id,
        "revision": revision,
        "county": county,
        "county_name": config.name,
        "period": str(period),
        "status": "accepted",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": [
            {
                "file": f"{INPUT}/{snapshot.name}",
                "original_name": source_name,
                "sha256": roster_sha,
                "rows": raw.frame.height,
                "encoding": raw.encoding,
                "ignored_columns": list(raw.ignored_columns),
                "skipped_rows": raw.skipped,
            }
        ],
        "schema": {"file": schema.path.name, "sha256": schema_sha, "version": schema.version},
        "config": config_entries,
        "config_gaps": list(config.gaps),
        "outputs": outputs(
            staging, {name: frame.height for name, (frame, _) in outputs_written.items()}, bank_files
        ),
        "totals": totals,
        "stages": stages.done,
    }


def _write_output(path: Path, frame: pl.DataFrame, layout: pl.Schema, period: str, county: str) -> float:
    """Write the frame in its contract layout; returns the moment it was done."""
    emit.write_parquet(emit.to_output(frame, layout, period, county), path)
    return time.perf_counter()


def outputs(staging: Path, rows: dict[str, int], bank_files: list[bank.BankFile]) -> list[dict[str, Any]]:
    """Every output file with its row count and sha256, for the manifest."""
    out = [{"file": name, "rows": n, "sha256": emit.sha256_file(staging / name)} for name, n in rows.items()]
    out += [
        {
            "file": f"bank/{bf.path.name}",
            "rows": bf.items,
            "sha256": emit.sha256_file(bf.path),
            "bank_name": bf.bank_name,
            "total": fen_text(bf.total_fen),
        }
        for bf in bank_files
    ]
    return out
