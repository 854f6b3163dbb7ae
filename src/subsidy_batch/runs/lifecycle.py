"""One lifecycle for every kind of run: what makes a computation a financial record.

    refuse a second run -> lock -> staging folder -> snapshot every input -> fingerprint -> stages
    -> reconcile -> manifest -> (supersede) -> fsync and publish with one rename

A kind of run (monthly, facilities) is a `Kind`: how to load its rules from the snapshot, how to read its
inputs, and how to compute and write its outputs, handing back the totals and a reconciliation check.
Everything else lives here, once, and `verify` re-executes any stored run through the same `execute`.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from subsidy_batch import __version__
from subsidy_batch.errors import InternalError, ReconciliationError, StorageError, UsageError, VerifyError
from subsidy_batch.outputs import emit
from subsidy_batch.runs import audit
from subsidy_batch.runs.audit import log
from subsidy_batch.runs.manifest import INPUT, FileRecord, InputRecord, Manifest, now_local
from subsidy_batch.runs.store import (
    MANIFEST,
    RunPaths,
    locate_run,
    locked,
    next_revision,
    publish,
    refuse_if_accepted,
    refuse_if_answered,
    supersede,
    sync_files,
)

Progress = Callable[[str], None]
STAGE_STATUSES = ("ok", "failed")  # closed: a stage that raised is recorded as failed in audit.jsonl
Setup = TypeVar("Setup")
Read = TypeVar("Read")


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    manifest: dict[str, Any]
    stale_lock: str | None = None  # a lock an ended process left, removed before this run: said even --quiet


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
        try:
            yield facts
        except BaseException:
            self.record(name, time.perf_counter() - started, status="failed", **facts)
            raise
        self.record(name, time.perf_counter() - started, **facts)

    def record(self, name: str, seconds: float, status: str = "ok", **facts: Any) -> None:
        """A stage timed elsewhere (one that ran beside another)."""
        assert status in STAGE_STATUSES, status
        self.done.append({"stage": name, "status": status, "seconds": round(seconds, 3)})
        log.info(f"{name}_{'done' if status == 'ok' else status}", seconds=round(seconds, 3), **facts)


@dataclass(frozen=True)
class Source:
    """An input of a run: its role, the file the clerk gave, and the name of its copy in input/.

    A reference (a prior accepted run of the county) is not copied: it is immutable where it stands,
    so the run records its path under the county folder, its run id and the sha256 of its manifest
    (which holds the sha256 of every file of that run), and `verify` finds it again by its run id.
    """

    role: str
    path: Path
    name: str  # e.g. roster.csv; for a reference, its path under the county folder
    reference: bool = False
    original_name: str | None = None  # for a reference: the run id


@dataclass(frozen=True)
class Recorded:
    """An input as the run folder holds it (what `execute` reads, at the run and at verify)."""

    role: str
    file: str  # relative to the run folder; for a reference, to the county folder
    original_name: str
    reference: bool = False


@dataclass
class Context:
    """What a kind of run sees while it executes inside its staging folder."""

    inputs: Path  # the run's input/ folder: every source, config/ and schemas/
    county: str
    label: str  # the period key
    revision: int
    sources: tuple[Recorded, ...]
    options: Mapping[str, Any]
    progress: Progress
    stages: Stages
    stale_note: str | None = None
    run_id: str = ""  # known once the read is done (the fingerprint runs beside it)
    county_dir: Path | None = None  # where references are found

    def resolve(self, source: Recorded) -> Path:
        """The file an input stands for: its copy in the run, or the referenced run's file."""
        if not source.reference:
            return self.staging / source.file
        assert self.county_dir is not None
        path = self.county_dir / source.file
        if path.is_file() or path.name != MANIFEST:  # only a run moves (aside, when superseded)
            return path
        found = locate_run(self.county_dir, source.original_name)  # moved aside since (superseded)
        if found is None:
            raise VerifyError(
                f"the run {source.original_name} that this run read ({source.file}) is not under "
                f"{self.county_dir} any more; verify the county's runs folder as a whole"
            )
        return found / Path(source.file).name

    @property
    def staging(self) -> Path:
        return self.inputs.parent

    @property
    def config_dir(self) -> Path:
        return self.inputs / "config"

    @property
    def schema_dir(self) -> Path:
        return self.inputs / "schemas"

    def source(self, role: str) -> Recorded:
        (found,) = [s for s in self.sources if s.role == role]
        return found

    def path(self, role: str) -> Path:
        return self.resolve(self.source(role))

    def read_roster(self, schema: Any) -> Any:
        """The roster snapshot, read and reported under the clerk's own file name (both kinds of run)."""
        from subsidy_batch.roster.read import read_roster

        source = self.source("roster")
        self.progress(f"reading {source.original_name}…")
        raw = read_roster(self.path("roster"), schema, source.original_name)
        return replace(raw, source=Path(source.original_name))

    def all_of(self, role: str) -> list[Recorded]:
        return [s for s in self.sources if s.role == role]


@dataclass(frozen=True)
class Loaded:
    """A kind's rules, loaded from the snapshot: what the fingerprint covers, in order."""

    county_name: str
    config_files: tuple[Path, ...]  # under ctx.config_dir
    schemas: tuple[tuple[Path, int], ...]  # (path, version) under ctx.schema_dir


@dataclass(frozen=True)
class Reading(Generic[Read]):
    """What reading the inputs gave: the data, the facts each input records, the read stage's log."""

    value: Read
    inputs: dict[str, dict[str, Any]]  # role (or, for a role read several times, the file) -> facts
    log: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a kind computed and wrote: its outputs, totals, own manifest facts, and the read-back check."""

    outputs: list[dict[str, Any]]
    totals: dict[str, Any]
    facts: dict[str, Any]
    reconcile: Callable[[], list[str]]  # problems found by reading the written files back; [] if none
    summary: dict[str, Any]  # for the audit log's run_complete line


@dataclass(frozen=True)
class Kind(Generic[Setup, Read]):
    """A kind of run, declared as its three steps; `recorded_options` are the options verify needs again."""

    name: str
    load: Callable[[Context], tuple[Setup, Loaded]]
    read: Callable[[Context, Setup], Reading[Read]]
    compute: Callable[[Context, Setup, Read], Outcome]
    roles: tuple[str, ...] = ("roster",)  # the closed set of inputs this kind reads, in fingerprint order
    recorded_options: tuple[str, ...] = ()
    many: tuple[str, ...] = ()  # roles that may be read several times (prior runs)


@dataclass(frozen=True)
class Plan:
    """One run to make: what it reads (copied into input/ before anything is computed) and how."""

    kind: Kind[Any, Any]
    paths: RunPaths
    sources: tuple[Source, ...]
    config_dir: Path
    config_files: tuple[Path, ...]
    schemas: tuple[Path, ...]
    arguments: dict[str, Any]  # recorded in the manifest
    options: Mapping[str, Any] = field(default_factory=dict)
    supersede_reason: str | None = None
    # checked and gathered once the county's lock is held: refusals that depend on the county's other
    # runs, and the references to them (they cannot change while the lock is held)
    under_lock: Callable[[], tuple[Source, ...]] | None = None


def run_id_for(county: str, period: str, revision: int, input_digests: list[str]) -> str:
    """Derived from what the run reads and its revision, so a reproduction gets the same id and bank batch id."""
    digest = hashlib.sha256("|".join([__version__, str(revision), *input_digests]).encode()).hexdigest()
    return f"{county}-{period}-{revision}-{digest[:10]}"


@dataclass(frozen=True)
class Fingerprint:
    run_id: str
    inputs: tuple[str, ...]  # sha256 per source, in the run's order
    schemas: tuple[str, ...]
    config: tuple[FileRecord, ...]


def fingerprint(ctx: Context, loaded: Loaded) -> Fingerprint:
    """The sha256 of every source, schema and config file, and the run id over all of them, in order."""
    inputs = tuple(emit.sha256_file(ctx.resolve(s)) for s in ctx.sources)
    schemas = tuple(emit.sha256_file(p) for p, _ in loaded.schemas)
    config = tuple(
        FileRecord(str(p.relative_to(ctx.config_dir)), emit.sha256_file(p)) for p in loaded.config_files
    )
    run_id = run_id_for(ctx.county, ctx.label, ctx.revision, [*inputs, *schemas, *(c.sha256 for c in config)])
    return Fingerprint(run_id, inputs, schemas, config)


def execute(kind: Kind[Any, Any], ctx: Context, sync_early: bool = False) -> Manifest:
    """Every stage of one run from its input/ snapshot, writing outputs beside it; returns the manifest.

    The inputs are read while a second thread works out their checksums and the run id: hashing lets go
    of the interpreter, as polars does while it reads, so the checksum of a roster of millions costs no
    wall time. The read stage is logged once the run id (and so the audit log) exists.

    sync_early (a run to publish): once the outputs are written, a second thread fsyncs what the staging
    folder holds while the run reads its outputs back, a head start for publish, which still fsyncs every
    file (a file synced already costs it a fraction of a millisecond). At 10M people the run's 430 MB took
    publish 1.1 s of waiting for the disk.
    """
    setup, loaded = kind.load(ctx)
    with ThreadPoolExecutor(max_workers=1) as hasher:
        digests = hasher.submit(fingerprint, ctx, loaded)
        started = time.perf_counter()
        reading = kind.read(ctx, setup)
        read_seconds = time.perf_counter() - started
        fp = digests.result()
    ctx.run_id = fp.run_id
    with audit.audit_to(ctx.staging / "audit.jsonl", run_id=fp.run_id, county=ctx.county, period=ctx.label):
        log.info(
            "run_started",
            tool_version=__version__,
            revision=ctx.revision,
            inputs={s.role: s.original_name for s in ctx.sources},
            stale_lock=ctx.stale_note,
        )
        ctx.stages.record("read", read_seconds, **reading.log)
        outcome = kind.compute(ctx, setup, reading.value)
        with ThreadPoolExecutor(max_workers=1) as syncing:
            if sync_early:
                syncing.submit(sync_files, ctx.staging)  # its error, if any, is publish's to raise
            with ctx.stages.stage("reconcile", "reconciling totals"):
                problems = outcome.reconcile()
                if problems:
                    raise ReconciliationError(
                        "totals do not reconcile, nothing was accepted: " + "; ".join(problems)
                    )
        log.info("run_complete", **outcome.summary)
    return Manifest(
        kind=kind.name,
        run_id=fp.run_id,
        revision=ctx.revision,
        county=ctx.county,
        county_name=loaded.county_name,
        period=ctx.label,
        inputs=[
            InputRecord(
                s.role,
                s.file,
                s.original_name,
                sha,
                ({"reference": True} if s.reference else {})
                | reading.inputs.get(s.file, reading.inputs.get(s.role, {})),
            )
            for s, sha in zip(ctx.sources, fp.inputs, strict=True)
        ],
        schemas=[
            FileRecord(p.name, sha, version)
            for (p, version), sha in zip(loaded.schemas, fp.schemas, strict=True)
        ],
        config=list(fp.config),
        outputs=checksummed(ctx.staging, outcome.outputs),
        totals=outcome.totals,
        stages=ctx.stages.done,
        facts=outcome.facts,
        created_at=now_local(),
    )


NOT_OUTPUTS = (INPUT, "audit.jsonl", MANIFEST)


def checksummed(staging: Path, outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each output with its sha256; every file the run wrote must be one of them (nothing unlisted)."""
    listed = {entry["file"] for entry in outputs}
    written = {
        str(p.relative_to(staging))
        for p in staging.rglob("*")
        if p.is_file() and p.relative_to(staging).parts[0] not in NOT_OUTPUTS
    }
    if listed != written:
        raise InternalError(
            f"the run's outputs and the files it wrote differ: not written {sorted(listed - written)}, "
            f"not listed {sorted(written - listed)}"
        )
    return [entry | {"sha256": emit.sha256_file(staging / entry["file"])} for entry in outputs]


def snapshot(staging: Path, plan: Plan, sources: tuple[Source, ...]) -> tuple[Recorded, ...]:
    """Copy every source, config file and schema into the run, so it can be re-run from itself alone."""
    inputs = staging / INPUT
    (inputs / "config").mkdir(parents=True)
    recorded = []
    for source in sources:
        if source.reference:
            recorded.append(
                Recorded(source.role, source.name, source.original_name or source.path.name, True)
            )
            continue
        shutil.copyfile(source.path, inputs / source.name)
        recorded.append(Recorded(source.role, f"{INPUT}/{source.name}", source.path.name))
    for path in plan.config_files:
        target = inputs / "config" / path.relative_to(plan.config_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (inputs / "schemas").mkdir()
    for schema in plan.schemas:
        shutil.copyfile(schema, inputs / "schemas" / schema.name)
    return tuple(recorded)


def run(plan: Plan, progress: Progress = lambda _: None) -> RunResult:
    """Refuse a second run, take the lock, build the run in a staging folder, and publish it atomically."""
    paths = plan.paths
    what = f"{paths.county} {paths.label}"
    _check_roles(plan.kind, plan.sources)
    if plan.supersede_reason is None:
        refuse_if_accepted(paths)
    elif not plan.supersede_reason.strip():
        raise UsageError('--supersede needs a reason, e.g. --supersede "corrected bank accounts"')
    try:
        return _locked_run(plan, progress, what)
    except OSError as exc:  # the runs folder is read-only, full, or not a folder
        where = exc.filename or paths.county_dir
        raise StorageError(
            f"cannot write the run of {what} under {paths.runs_dir} ({where}: {exc.strerror or exc}); "
            "check that the runs folder exists, is writable and has free space, then run again"
        ) from exc


def _check_roles(kind: Kind[Any, Any], sources: tuple[Source, ...]) -> None:
    roles = [s.role for s in sources]
    once = [r for i, r in enumerate(roles) if r not in kind.many or r not in roles[:i]]
    if once != [r for r in kind.roles if r in roles]:  # unknown, repeated or out of order
        raise InternalError(f"a {kind.name} run reads {kind.roles}, once each in that order; got {roles}")


def _locked_run(plan: Plan, progress: Progress, what: str) -> RunResult:
    paths = plan.paths
    with locked(paths) as stale_note:
        if stale_note:
            progress(stale_note)
        if plan.supersede_reason is None:
            refuse_if_accepted(paths)
        elif not paths.accepted.exists():
            raise UsageError(f"there is no accepted run of {what} to supersede; run without --supersede")
        else:
            refuse_if_answered(paths)  # the bank paid its files: replacing it would pay the month again
        staging = paths.staging()
        shutil.rmtree(staging, ignore_errors=True)
        try:
            every = plan.sources + (plan.under_lock() if plan.under_lock else ())
            _check_roles(plan.kind, every)
            sources = snapshot(staging, plan, every)
            ctx = Context(
                staging / INPUT,
                paths.county,
                paths.label,
                next_revision(paths),
                sources,
                plan.options,
                progress,
                Stages(progress),
                stale_note,
                county_dir=paths.county_dir,
            )
            manifest = execute(plan.kind, ctx, sync_early=True)
            if plan.supersede_reason is not None:
                refuse_if_answered(paths)  # again: an answer may have been imported while this run ran
                manifest.supersedes = supersede(
                    paths, plan.supersede_reason, manifest.run_id, manifest.created_at
                )
            manifest.arguments = {**plan.arguments, "supersede": plan.supersede_reason}
            emit.write_json(manifest.to_json(), staging / MANIFEST)
            publish(staging, paths)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return RunResult(paths.accepted, manifest.to_json(), stale_note)


def reproduce(kind: Kind[Any, Any], stored: Manifest, inputs: Path, county_dir: Path) -> Manifest:
    """Execute a stored run again from a copy of its input/ folder and the runs it referenced (verify)."""
    arguments = stored.arguments or {}
    ctx = Context(
        inputs,
        stored.county,
        stored.period,
        stored.revision,
        tuple(
            Recorded(i.role, i.file, i.original_name, bool(i.facts.get("reference"))) for i in stored.inputs
        ),
        {key: arguments.get(key) for key in kind.recorded_options},
        lambda _: None,
        Stages(lambda _: None),
        county_dir=county_dir,
    )
    return execute(kind, ctx)
