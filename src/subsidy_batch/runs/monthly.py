"""The monthly run of one county, declared as its steps: load the rules, read the roster, then
validate -> compute -> write outputs and bank files, with the totals the lifecycle reconciles.

Everything that makes it a financial record (lock, snapshot, fingerprint, manifest, publish, supersede,
verify) is the lifecycle's (runs/lifecycle.py), shared with every other kind of run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.frames import aligned
from subsidy_batch.ledger.arrears import (
    arrears,
    hold,
    hold_duplicate_payees,
    paid_twice,
    paid_under_other_id,
    recoveries,
    refused_payees,
    reissues,
    settled_keys,
)
from subsidy_batch.ledger.deaths import (
    CONFLICTS,
    DEATHS_PARQUET,
    DEATHS_REJECTED,
    apply_deaths,
    apply_listed_deaths,
    death_progress,
    death_totals,
    outcomes,
    reconcile_deaths,
    with_recoveries,
)
from subsidy_batch.ledger.record import Ledger, Prior, answer_lines, read_ledger
from subsidy_batch.ledger.refunds import REFUNDS_DIR, read_refunds
from subsidy_batch.ledger.summary import answers_summary, ledger_totals, month_changes
from subsidy_batch.outputs import bank, emit
from subsidy_batch.outputs.documents import write_documents, write_rejected_workbook
from subsidy_batch.outputs.gongshi import GONGSHI_CONFIG, load_gongshi
from subsidy_batch.outputs.workbook import REJECTED_XLSX
from subsidy_batch.period import Period
from subsidy_batch.returns.confirm import CONFIRMED_DIR, read_confirmations
from subsidy_batch.returns.record import DAMAGED as ANSWER_DAMAGED
from subsidy_batch.returns.record import read_answer, record_paths
from subsidy_batch.roster.deaths import (
    SCHEMA_NAME as DEATHS_SCHEMA,
)
from subsidy_batch.roster.deaths import (
    check_death_list,
    load_death_schema,
    read_death_list,
    refuse_unreadable,
)
from subsidy_batch.roster.read import RawRoster, default_roster, raise_empty, refuse_empty
from subsidy_batch.roster.schema import SCHEMA_DIR, RosterSchema, load_schema, start_loading_pandera
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import (
    ACCOUNT_REFUSED,
    PAID_UNDER_OTHER_ID,
    line_items,
    payable_rules,
    payments,
)
from subsidy_batch.rules.config import CountyConfig, load_county
from subsidy_batch.rules.foreign import refuse_foreign_roster
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
from subsidy_batch.runs.manifest import SHANGHAI, load
from subsidy_batch.runs.records import damaged
from subsidy_batch.runs.store import (
    MANIFEST,
    SUPPLEMENTS_DIR,
    RunPaths,
    StoredRun,
    accepted_monthly_runs,
    answers_dir,
    is_answered,
    is_released,
)
from subsidy_batch.runs.totals import item_totals, outputs, reconcile

T = TypeVar("T")

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
    supplement_reason: str | None = None  # pay what a released period still owes (--supplement)
    deaths: Path | None = None  # the month's death list (--deaths): applied before computing
    today: date | None = None  # the clerk's date (Asia/Shanghai); None: the clock. A test sets it


def run_month(request: RunRequest, progress: Progress = lambda _: None) -> RunResult:
    """Compute, write, reconcile and publish the accepted run of one county and period."""
    start_loading_pandera()
    period, county = request.period, request.county
    refuse_future(period, request.today or datetime.now(SHANGHAI).date())
    schema = load_schema(schema_dir=request.schema_dir)
    config = load_county(request.config_dir, county, schema)
    payable_rules(config, period)  # fails early when no rule is in force
    load_gongshi(request.config_dir)  # the 公示 masking rules: a config error before anything is run
    roster = request.roster or default_roster(request.rosters_dir, county, str(period))
    refuse_empty(roster)  # before the lock and any run folder: a header alone pays nobody
    arguments: dict[str, Any] = {
        "roster": str(roster),
        "runs_dir": str(request.runs_dir),
        "config_dir": str(request.config_dir),
    }
    sources: tuple[Source, ...] = (Source("roster", roster, f"roster{roster.suffix.lower()}"),)
    schemas: tuple[Path, ...] = (schema.path,)
    if request.deaths is not None:  # only then, so that a run without one keeps its inputs and run id
        refuse_unreadable(request.deaths)
        load_death_schema(request.schema_dir)  # a mistake in schemas/deaths.yaml is a load error up front
        arguments["deaths"] = str(request.deaths)
        sources += (Source("deaths", request.deaths, f"deaths{request.deaths.suffix.lower()}"),)
        schemas += (request.schema_dir / f"{DEATHS_SCHEMA}.yaml",)
    if request.accept_foreign_roster:  # only then, so that earlier manifests keep their arguments
        arguments["accept_foreign_roster"] = True
    county_dir = request.runs_dir / county
    folder = str(period)
    if request.supplement_reason is not None:
        if request.supersede_reason is not None:
            raise UsageError(
                "--supplement and --supersede exclude each other: a supplement adds to a released run"
            )
        if not request.supplement_reason.strip():
            raise UsageError(
                '--supplement needs a reason, e.g. --supplement "3 people approved late by 纸坊镇"'
            )
        arguments["supplement"] = request.supplement_reason
        done = [r for r in accepted_monthly_runs(county_dir) if r.period == str(period) and r.supplement]
        folder = f"{SUPPLEMENTS_DIR}/{period}-s{len(done) + 1}"
    paths = RunPaths(request.runs_dir, county, folder)
    plan = Plan(
        KIND,
        paths,
        sources,
        request.config_dir,
        (*config.files, request.config_dir / GONGSHI_CONFIG),
        schemas,
        arguments,
        {
            "accept_foreign_roster": request.accept_foreign_roster,
            "counties_dir": request.config_dir,  # the other counties, read to name one if a roster is refused
            # a new supplement must pay something (verify reproduces a stored one without asking)
            "refuse_empty_supplement": True,
        },
        request.supersede_reason,
        under_lock=lambda: prior_runs(paths, period, request),
    )
    return lifecycle.run(plan, progress)


def refuse_future(period: Period, today: date) -> None:
    """A month is run in the month it pays or just before (a county sets next month's payment plan
    before it starts); a later one is a typo (2099-01 for 2024-01) that would pay ages counted for that
    month and, once accepted, block every real month: months go forward."""
    latest = Period(today.year, today.month).next()
    if period > latest:
        raise UsageError(
            f"{period} is later than {latest}, the month after this one (today is {today.isoformat()}): a "
            "month is run in the month it pays or the month before; check the period you typed"
        )


def _refuse_empty_supplement(items: pl.DataFrame, county: str, period: Period) -> None:
    """A supplement is a bank batch of its own: one that would pay nothing is not written (it would
    take a number, a report to sign and a 公示 list, and say nothing)."""
    if items.filter(pl.col("status") == "paid").height:
        return
    other = items.filter(pl.col("hold_reason") == PAID_UNDER_OTHER_ID).height
    held = items.height - other
    reasons = (
        items.filter(pl.col("hold_reason") != PAID_UNDER_OTHER_ID)
        .group_by("hold_reason")
        .len()
        .sort("hold_reason")
        .rows()
    )
    still = (
        f"; {held} item(s) it owes are still held ({', '.join(f'{r} {n}' for r, n in reasons)}), and are "
        "paid once their hold is lifted"
        if held
        else ""
    )
    if other:
        still += (
            f"; {other} item(s) were paid already to the same name and bank account under another ID "
            "number (the ID was corrected since: paid_under_other_id)"
        )
    raise UsageError(
        f"a supplement of {county} {period} would pay nothing: everything the month owes was paid by the "
        f"runs accepted for it{still}. No supplement was written"
    )


def _refuse_lost_answers(county_dir: Path, read: list[StoredRun], found: set[str]) -> None:
    """Every bank answer an accepted run read must still be there: one deleted whole (its folder gone)
    would let its failed lines go unheld and never reissued, with nothing else to show it ever existed."""
    for r in read:
        for recorded in load(r.folder).inputs:
            if recorded.role == "bank_return" and recorded.file not in found:
                raise damaged(
                    county_dir / recorded.file,
                    f"it is missing, but {r.run_id} read it ({r.folder / MANIFEST})",
                    ANSWER_DAMAGED,
                )


def prior_runs(paths: RunPaths, period: Period, request: RunRequest) -> tuple[Source, ...]:
    """Refuse what would break the record, then name the county's accepted runs this run reads.

    Months go forward: a period before the county's latest accepted one is paid through arrears or a
    supplement, and none is skipped (a month with no run would never be paid). A released run (its bank
    files handed to the bank) is never superseded; nor is a run that a later month has read. A supplement
    needs a released run of its period.
    """
    county_dir = paths.county_dir
    runs = accepted_monthly_runs(county_dir)
    later = [r for r in runs if r.period > str(period)]
    own = [r for r in runs if r.period == str(period) and not r.supplement]
    what = f"{paths.county} {period}"
    if request.supplement_reason is not None:
        if not own:
            raise UsageError(f"{what} has no accepted run to supplement; run it without --supplement")
        if not is_released(county_dir, own[0].run_id):
            if is_answered(answers_dir(county_dir, own[0].label, own[0].run_id)):
                raise UsageError(
                    f"{what} was answered by the bank but has no release record: record that its bank files "
                    f"were handed over (subsidy approve {own[0].folder} --step check, then --step approve, by "
                    f"two people; then subsidy release {own[0].folder} --by NAME), then run the supplement"
                )
            raise UsageError(
                f"{what} has not been released to the bank, so nothing was paid yet; correct it with "
                '--supersede "reason" instead of a supplement'
            )
    elif later:
        raise UsageError(
            f"{paths.county} already has an accepted run for {later[-1].period}, after {period}: months go "
            f"forward; pay what {period} still owes through the next month's arrears, or with "
            f'--supplement "reason" if {period} was released'
        )
    elif not own and runs and Period.parse(runs[-1].period) < period.previous():
        # arrears pay lifted holds and 享受起始月份, never a month no run was made for: it would go unpaid
        after = Period.parse(runs[-1].period).next()
        skipped = f"{after} has" if after == period.previous() else f"{after} to {period.previous()} have"
        raise UsageError(
            f"{paths.county}'s latest accepted run is {runs[-1].period}, and {skipped} none: run "
            f"{after} first, so that no month goes unpaid (a month with no run is never paid as arrears)"
        )
    elif request.supersede_reason is not None and own and is_released(county_dir, own[0].run_id):
        raise UsageError(
            f"{what} was released to the bank ({own[0].run_id}): a released run is never superseded; correct "
            'it through the next month\'s arrears and recoveries, or pay what it still owes with --supplement "reason"'
        )
    read = [r for r in runs if not (request.supersede_reason is not None and r in own)]
    runs_read = tuple(
        Source(
            "prior_run",
            r.folder / MANIFEST,
            f"{r.folder.relative_to(county_dir).as_posix()}/{MANIFEST}",
            reference=True,
            original_name=r.run_id,
        )
        for r in read
    )
    answers = []  # the banks' answers recorded beside those runs (subsidy returns), each by its record
    for r in read:
        root = answers_dir(county_dir, r.label, r.run_id)
        for record in record_paths(root):  # a folder that lost its record stops the run when read
            rel = record.relative_to(county_dir).as_posix()
            answers.append(Source("bank_return", record, rel, reference=True, original_name=r.run_id))
    _refuse_lost_answers(county_dir, read, {a.name for a in answers})
    refunds = tuple(  # every refund recorded for the county (subsidy recovered)
        Source(
            "refund", path, path.relative_to(county_dir).as_posix(), reference=True, original_name=path.stem
        )
        for path in sorted((county_dir / REFUNDS_DIR).glob("*.json"))
    )
    confirmations = tuple(  # every account confirmed after a failed line (subsidy confirm-account)
        Source(
            "account_confirmed",
            path,
            path.relative_to(county_dir).as_posix(),
            reference=True,
            original_name=path.stem,
        )
        for path in sorted((county_dir / CONFIRMED_DIR).glob("*.json"))
    )
    return runs_read + tuple(answers) + refunds + confirmations


def cleared(
    failed: pl.DataFrame, prior: list[Prior], records: pl.DataFrame, paid: pl.DataFrame
) -> pl.DataFrame:
    """The failed lines, each marked where its ID, name and account may be paid again:
    - `confirmed`: a confirmation this run read (subsidy confirm-account) names them, and the run whose
      answer failed the line is the confirmed run or one made before it (that the confirmed run read);
    - `paid_since`: an answer to a run made after the failed one (that read it) says a line to them
      succeeded (`paid`: the succeeded lines, run_id, id_number, sent_name, sent_account): the account
      took money after it failed.
    Runs are ordered by what each read, never by label (a supplement of January may follow February)."""
    keys = ["run_id", "id_number", "sent_name", "sent_account"]
    pair = ["id_number", "sent_name", "sent_account"]
    order = {"later": pl.String, "run_id": pl.String}
    before = pl.DataFrame(  # (later, run_id): `later` read run_id, so it was made after it
        [(p.run_id, earlier) for p in prior for earlier in sorted(p.read)], schema=order, orient="row"
    )
    same = pl.DataFrame([(p.run_id, p.run_id) for p in prior], schema=order, orient="row")
    lines = failed.select(keys).unique()
    marks = {
        "confirmed": lines.join(records.select(*pair, later="run_id"), on=pair).join(
            pl.concat([before, same]), on=list(order), how="semi"
        ),
        "paid_since": lines.join(paid.select(*pair, later="run_id"), on=pair).join(
            before, on=list(order), how="semi"
        ),
    }
    for column, hit in marks.items():
        failed = (
            failed.join(hit.select(keys).unique().with_columns(hit=pl.lit(True)), on=keys, how="left")
            .with_columns(pl.col("hit").fill_null(False).alias(column))
            .drop("hit")
        )
    return failed


Rules = tuple[RosterSchema, CountyConfig, RosterSchema | None]  # the last: the death list's, if one


def _load(ctx: Context) -> tuple[Rules, Loaded]:
    schema = load_schema(schema_dir=ctx.schema_dir)
    config = load_county(ctx.config_dir, ctx.county, schema)
    files = (*config.files, ctx.config_dir / GONGSHI_CONFIG)  # the 公示 masking rules
    schemas: tuple[tuple[Path, int], ...] = ((schema.path, schema.version),)
    deaths = load_death_schema(ctx.schema_dir) if ctx.all_of("deaths") else None
    if deaths is not None:
        schemas += ((deaths.path, deaths.version),)
    return (schema, config, deaths), Loaded(config.name, files, schemas)


Read = tuple[RawRoster, Ledger, RawRoster | None]


def _read(ctx: Context, rules: Rules) -> Reading[Read]:
    raw: RawRoster = ctx.read_roster(rules[0])
    death_list = None
    if rules[2] is not None:
        source = ctx.source("deaths")
        ctx.progress(f"reading the death list {source.original_name}…")
        death_list = read_death_list(ctx.path("deaths"), rules[2], source.original_name)
    prior, trend = [], []
    for ref in ctx.all_of("prior_run"):
        folder = ctx.resolve(ref).parent
        manifest = load(folder)
        prior.append(
            Prior(
                ref.original_name,
                manifest.period,
                folder,
                manifest.checksums(),
                frozenset(manifest.read_runs()),
            )
        )
        if "-s" not in manifest.period:
            trend.append((manifest.period, manifest.totals))
    # in the order the runs were made (each read every run before it), so that the latest is last: the
    # one whose recoveries are carried forward, and whose answer to a month sent twice is the last word
    prior.sort(key=lambda p: len(p.read))
    returned, answered, succeeded = [], [], []
    for ref in ctx.all_of("bank_return"):
        whole = read_answer(ctx.resolve(ref), ref.original_name)  # checked: its checksum, its run
        answered.append(whole.select("run_id", "bank_name", "status", "reason", "amount"))
        lines = answer_lines(whole, ref.original_name)
        returned.append(lines.filter(pl.col("status") == "failed").drop("status"))
        succeeded.append(
            lines.filter(pl.col("status") == "succeeded").select(
                "run_id", "id_number", "sent_name", "sent_account"
            )
        )
    # read (and checked) whether or not a line failed: a damaged record stops the run all the same
    confirmations = read_confirmations([ctx.resolve(ref) for ref in ctx.all_of("account_confirmed")])
    failed = None
    if returned and sum(f.height for f in returned):
        failed = pl.concat(returned)
        paid_lines = pl.concat(succeeded).join(
            failed.select("id_number").unique(), on="id_number", how="semi"
        )
        failed = cleared(failed, prior, confirmations, paid_lines)
    refunded = read_refunds([ctx.resolve(ref) for ref in ctx.all_of("refund")])
    ledger = replace(
        read_ledger(prior, failed), trend=tuple(trend), refunded=refunded, answers=answers_summary(answered)
    )
    listed = {}
    if death_list is not None:
        listed = {
            "deaths": {
                "rows": death_list.frame.height,
                "encoding": death_list.encoding,
                "ignored_columns": list(death_list.ignored_columns),
                "skipped_rows": death_list.skipped,
                **death_list.sheet_facts(),
            }
        }
    return Reading(
        (raw, ledger, death_list),
        {
            **listed,
            **{ref.file: {"answers": ref.original_name} for ref in ctx.all_of("bank_return")},
            **{
                ref.file: {"run_id": run.run_id, "period": run.label}
                for ref, run in zip(ctx.all_of("prior_run"), prior, strict=True)
            },
            "roster": {
                "rows": raw.frame.height,
                "encoding": raw.encoding,
                "ignored_columns": list(raw.ignored_columns),
                "skipped_rows": raw.skipped,
                **raw.sheet_facts(),
            },
        },
        {
            "rows": raw.frame.height,
            "encoding": raw.encoding,
            "ignored_columns": list(raw.ignored_columns),
            **raw.skipped,
        },
    )


def _compute(ctx: Context, rules: Rules, read: Read) -> Outcome:
    """validate -> compute -> write outputs and bank files, in the staging folder."""
    schema, config, death_schema = rules
    raw, ledger, death_raw = read
    supplement = "-s" in ctx.label
    period, county, staging, stages, progress = (
        Period.parse(ctx.label[:7]),
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
        validated = validate(raw, schema, str(period), county, hand_over=True)  # raw.rows from here on
        facts.update(accepted=validated.accepted.height, rejected=validated.rejected_rows)
        facts.update(
            refuse_foreign_roster(
                validated.accepted,
                config,
                raw.source.name,
                ctx.options.get("counties_dir"),
                bool(ctx.options.get("accept_foreign_roster")),
            )
        )
    if (
        ledger.listed_dead.height
    ):  # a death an earlier run's death list showed is a death in every later month
        validated, carried = apply_listed_deaths(validated, ledger.listed_dead)
        if carried:
            progress(
                f"{carried} people on this roster were listed dead by an earlier month's death list: "
                "treated as dead from that date (deaths.parquet of those runs)"
            )
    death_list, listed = None, None
    if death_raw is not None and death_schema is not None:
        with stages.stage("deaths", f"checking the death list ({death_raw.frame.height} rows)") as facts:
            death_list = check_death_list(death_raw, death_schema, period, county)
            as_read = validated.accepted
            listed = outcomes(as_read, death_list, validated.rejected.get_column("id_number"), config, period)
            validated = replace(validated, accepted=apply_deaths(as_read, death_list))
            del as_read  # the roster as read before the deaths: not held beside the one that applies them
            facts.update(
                rows=death_list.rows_read, applied=death_list.rows_applied, rejected=death_list.rows_rejected
            )
    with stages.stage("compute", "computing entitlements") as facts:
        people = validated.accepted
        # a name and account a bank refused for good: this month's items to them are held (the change
        # list shows them newly held), and paid once the roster gives another account or name
        refused = refused_payees(people, ledger)
        regular = hold(
            line_items(people, config, period).with_columns(
                kind=pl.lit("regular"), for_period=pl.lit(str(period))
            ),
            refused,
            ACCOUNT_REFUSED,
        )
        computed = regular  # what the period owes in full: the change list compares this
        if supplement:  # only what the ledger shows as still owed for the period, and what is new in it
            keys = ["id_number", "benefit", "for_period"]
            held_before = ledger.items.filter(pl.col("status") == "held").select(keys).unique()
            # paid, paid under another ID, or returned by the bank: a returned month is paid again only
            # as a reissue (below), once the name or account changed, never resent blindly as regular
            regular = regular.join(ledger.paid_keys(), on=keys, how="anti").join(
                settled_keys(ledger), on=keys, how="anti"
            )
            still_held = regular.filter(pl.col("status") == "held").join(held_before, on=keys, how="semi")
            regular = regular.join(still_held.select(keys), on=keys, how="anti")
        owed = pl.DataFrame() if supplement else arrears(people, config, period, ledger)
        again = reissues(people, config, ledger, regular.columns)
        if supplement and again.height:  # the period's own returned months; earlier ones wait for a month
            again = again.filter(pl.col("for_period") == str(period))
        again = hold(again, refused, ACCOUNT_REFUSED) if again.height else again
        extra = [owed.with_columns(kind=pl.lit("arrears")).select(regular.columns)] if owed.height else []
        extra += [again] if again.height else []
        if extra:
            items = pl.concat([regular, *extra]).sort("id_key", "benefit", "for_period", maintain_order=True)
        else:
            items = regular
        items = aligned(paid_under_other_id(items, ledger))  # every output queries these frames again
        pays = aligned(payments(items))
        held = hold_duplicate_payees(items, pays, ledger)  # one name and account under two IDs
        if held is not items:
            items = aligned(held)
            pays = aligned(payments(items))
        if supplement and ctx.options.get("refuse_empty_supplement"):  # after every hold: what it pays
            _refuse_empty_supplement(items, ctx.county, period)
        facts.update(
            line_items=items.height, arrears_items=owed.height, reissues=again.height, payees=pays.height
        )
    with stages.stage("ledger", "comparing with the previous month") as facts:
        change_list, previous_label = month_changes(computed, ledger, validated, config, period, supplement)
        change_list = aligned(change_list)
        # listed dead (this month or earlier) and not on this roster: months paid after death still owed
        elsewhere = [ledger.listed_dead.select("id_number", "death_date")]
        if listed is not None:
            elsewhere.append(
                listed.filter(~pl.col("outcome").is_in(["confirmed", *CONFLICTS])).select(
                    "id_number", death_date="death_date_used"
                )
            )
        owed_back = recoveries(people, config, period, ledger, pl.concat(elsewhere))
        facts.update(previous=previous_label, changes=change_list.height, recoveries=owed_back.height)
    if previous_label is None:
        progress(f"the first run of {config.name} in the record: every item is new")
    totals = _totals(raw.rows, validated, items, pays, config) | ledger_totals(
        items, change_list, owed_back, previous_label, ledger
    )
    if listed is not None and death_list is not None:
        listed = with_recoveries(listed, owed_back)
        totals["deaths"] = death_totals(death_list, listed)
        progress(death_progress(death_list, totals["deaths"]))
    # every output is made from the items, the payments and the rejections: the accepted roster rows are
    # let go here, so that a province's roster is not held beside the outputs being written (10M people:
    # peak 3,829 -> 3,556 MiB)
    rows = (raw.rows, validated.accepted.height, validated.rejected_rows)
    rejected = validated.rejected
    del validated, people
    progress("writing outputs and bank files…")
    outputs_written = {
        "line_items.parquet": (items, emit.LINE_ITEMS),
        "payments.parquet": (pays, emit.PAYMENTS),
        "rejected.parquet": (rejected, emit.REJECTED),
        "changes.parquet": (change_list, emit.CHANGES),
        "recoveries.parquet": (owed_back, emit.RECOVERIES),
    }
    if listed is not None and death_list is not None:
        outputs_written[DEATHS_PARQUET] = (listed, emit.DEATHS)
        outputs_written[DEATHS_REJECTED] = (death_list.rejected, emit.REJECTED)
    # each frame in its contract layout once, for its Parquet file and the documents alike
    contract_frames = {
        name: emit.to_output(frame, layout, str(period), county)
        for name, (frame, layout) in outputs_written.items()
    }
    # every file is a job of its own on two threads: polars writes Parquet without holding the
    # interpreter, while a bank file is formatted and encoded to GB18030. Each stage's seconds run
    # from the start of the block to its last file, side by side.
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        # the documents are Python (xlsxwriter, HTML): the longest job, started first, beside the rest
        documents = pool.submit(
            _timed,
            write_documents,
            ctx.staging,
            ctx.county,
            ctx.config_dir,
            schema,
            config,
            period,
            contract_frames,
            items.get_column("id_key"),
            totals,
            ledger.trend,
        )
        writing = [
            pool.submit(_write_output, staging / name, frame) for name, frame in contract_frames.items()
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
            write_rejected_workbook,
            staging,
            rejected,
            schema,
            f"{config.name}{period.year}年{period.month}月",
            period,
        )
        bank_seconds = time.perf_counter() - started
        workbook.result()
        written_documents, documents_ended = documents.result()
        write_seconds = max(done.result() for done in writing) - started  # each returns when it ended
    stages.record("write", write_seconds, files=len(outputs_written))
    stages.record("bank_files", bank_seconds, banks=len(bank_files))
    stages.record("documents", documents_ended - started, files=len(written_documents))
    return Outcome(
        outputs=outputs(
            {name: frame.height for name, (frame, _) in outputs_written.items()}
            | {REJECTED_XLSX: rejected.height}
            | written_documents,
            bank_files,
        ),
        totals=totals,
        facts={"config_gaps": list(config.gaps)},
        reconcile=lambda: (
            reconcile(staging, rows, totals, bank_files, config.bank_file_encoding)
            + paid_twice(pl.read_parquet(staging / "line_items.parquet", columns=list(KEY_COLUMNS)), ledger)
            + (reconcile_deaths(staging, death_list) if death_list is not None else [])
        ),
        summary={k: totals[k] for k in ("paid_people", "paid_amount", "held_items")},
    )


KIND: Kind[Rules, Read] = Kind(
    "monthly",
    _load,
    _read,
    _compute,
    roles=(
        "roster",
        "deaths",
        "prior_run",
        "bank_return",
        "refund",
        "account_confirmed",
    ),  # fingerprint order
    recorded_options=("accept_foreign_roster",),
    many=("prior_run", "bank_return", "refund", "account_confirmed"),
)
KEY_COLUMNS = ("id_number", "benefit", "for_period", "status")


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


def _timed(write: Callable[..., T], *args: Any) -> tuple[T, float]:
    """write(*args), and the moment it ended (time.perf_counter)."""
    return write(*args), time.perf_counter()


def _write_output(path: Path, frame: pl.DataFrame) -> float:
    """Write the frame (in its contract layout); returns the moment it was done."""
    emit.write_parquet(frame, path)
    return time.perf_counter()
