"""Where runs live, and how one becomes accepted: a lock, a temporary folder, one rename.

Layout under <runs-dir>/<county>/:
  <period>/                          the accepted run (never modified once there)
  supplements/<period>-s<n>/         a supplementary run of a released period (--supplement)
  superseded/<period>/<run_id>/      a run replaced by --supersede, moved aside unchanged
  superseded/<period>/<run_id>.json  why it was replaced, when, and by which run
  released/<run_id>.json             the record that a run's bank files were handed to the bank
  .lock                              the county's lock: its runs read each other, so one at a time
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subsidy_batch.errors import RunLockedError, UsageError, VerifyError
from subsidy_batch.runs.accepted import not_a_run, run_folder
from subsidy_batch.runs.accepted import refuse_if_accepted as refuse_accepted
from subsidy_batch.runs.manifest import DAMAGED, MANIFEST, Manifest, load
from subsidy_batch.runs.records import read_record, text_fields

SUPERSEDED_DIR = "superseded"
SUPPLEMENTS_DIR = "supplements"
RELEASED_DIR = "released"
_MONTH = re.compile(r"^\d{4}-\d{2}$")
# a process id is a positive C int (pid_t; a Windows DWORD, never as high in practice)
_MAX_PID = 2**31 - 1


@dataclass(frozen=True)
class RunPaths:
    runs_dir: Path
    county: str
    period: str  # the run's folder under the county: 2024-05, facilities-2024, supplements/2024-05-s1

    @property
    def county_dir(self) -> Path:
        return self.runs_dir / self.county

    @property
    def accepted(self) -> Path:
        return run_folder(self.runs_dir, self.county, self.period)

    @property
    def label(self) -> str:
        """The run's period key as the run id and messages show it (2024-05, 2024-05-s1)."""
        return self.period.rpartition("/")[2]

    @property
    def lock(self) -> Path:
        return self.county_dir / ".lock"

    def staging(self) -> Path:
        return self.county_dir / f".{self.label}.tmp-{os.getpid()}"

    def superseded(self, run_id: str) -> Path:
        return self.county_dir / SUPERSEDED_DIR / self.period / run_id


def superseded_runs(paths: RunPaths) -> list[Path]:
    folder = paths.county_dir / SUPERSEDED_DIR / paths.period
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


@dataclass(frozen=True)
class StoredRun:
    """An accepted run of a county, as the ledger reads it."""

    folder: Path
    run_id: str
    label: str  # 2024-05, or 2024-05-s1 for a supplement
    period: str  # the month it pays for
    supplement: int  # 0 for the period's run, n for its n-th supplement
    checksums: dict[str, str]  # file -> sha256 of its outputs, as its manifest holds them


def county_dir_of(run_dir: Path) -> Path:
    """The county folder of a run folder, wherever the run stands (accepted, superseded, supplement)."""
    if run_dir.parent.name == SUPPLEMENTS_DIR:
        return run_dir.parent.parent
    if run_dir.parent.parent.name == SUPERSEDED_DIR:
        return run_dir.parents[2]
    return run_dir.parent


def accepted_monthly_runs(county_dir: Path) -> list[StoredRun]:
    """Every accepted monthly run of the county and its supplements (never superseded ones), in order."""
    found = []
    folders = [p for p in county_dir.iterdir() if _MONTH.match(p.name)] if county_dir.is_dir() else []
    supplements = county_dir / SUPPLEMENTS_DIR
    # (a hidden entry there is no run: a file manager's or an editor's, never this program's)
    folders += (
        sorted(p for p in supplements.iterdir() if not p.name.startswith(".")) if supplements.is_dir() else []
    )
    for folder in folders:
        if not (folder / MANIFEST).is_file():
            if folder.is_dir() and any(folder.iterdir()):  # skipping it would pay its months again
                raise VerifyError(not_a_run(folder, county_dir))
            continue
        manifest = load(folder)
        label = manifest.period
        if label != folder.name:  # the ledger keys every month it paid by the run's period
            raise VerifyError(
                f'{folder / MANIFEST}: "period" is {label!r}, but the run stands in {folder.name}/; {DAMAGED}'
            )
        period, _, number = label.partition("-s")
        found.append(
            StoredRun(folder, manifest.run_id, label, period, int(number or 0), manifest.checksums())
        )
    return sorted(found, key=lambda r: (r.period, r.supplement))


def locate_run(county_dir: Path, run_id: str) -> Path | None:
    """A run folder by its id: accepted, supplement or superseded (a run read by a later one may have
    been moved aside since)."""
    for manifest in sorted(county_dir.rglob(MANIFEST)):
        if not any(part.startswith(".") for part in manifest.relative_to(county_dir).parts):
            try:
                if load(manifest.parent).run_id == run_id:
                    return manifest.parent
            except VerifyError:  # a damaged run is named when it is read, not while searching
                continue
    return None


def release_record(county_dir: Path, run_id: str) -> Path:
    return county_dir / RELEASED_DIR / f"{run_id}.json"


def is_released(county_dir: Path, run_id: str) -> bool:
    path = release_record(county_dir, run_id)
    if path.is_file():
        read_release(path, run_id)  # a damaged record is named, not taken as released or as not
        return True
    return False


def read_release(path: Path, run_id: str) -> dict[str, Any]:
    """A release record, checked; VerifyError naming the file when it is damaged."""
    remedy = (
        f"it records that the bank files of {run_id} went to the bank: restore it from a backup (never "
        "delete it), then run again"
    )
    record = text_fields(read_record(path, remedy), path, ("run_id", "released_by", "released_at"), remedy)
    if record["run_id"] != run_id:
        raise VerifyError(f'{path}: "run_id" is {record["run_id"]!r}, not {run_id}; {remedy}')
    return record


def next_revision(paths: RunPaths) -> int:
    """1 for the first run of a period; each supersede adds one (so a new bank batch id too)."""
    return 1 + len(superseded_runs(paths)) + (1 if paths.accepted.exists() else 0)


def supersede(paths: RunPaths, reason: str, new_run_id: str, when: str) -> dict[str, object]:
    """Move the accepted run aside unchanged, with a note saying why; returns what the new manifest records."""
    old = load(paths.accepted)
    old_id = old.run_id
    target = paths.superseded(old_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    note = {
        "run_id": old_id,
        "reason": reason,
        "superseded_at": when,
        "superseded_by": new_run_id,
        "created_at": _made(old),
    }
    target.with_suffix(".json").write_text(
        json.dumps(note, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    os.rename(paths.accepted, target)
    return {
        "run_id": old_id,
        "reason": reason,
        "path": str(target.relative_to(paths.runs_dir)),
        "created_at": _made(old),
    }


def _made(manifest: Manifest) -> str | None:
    return manifest.created_at or None  # a version 1 manifest may lack it: null, as it was


def superseded_note(county_dir: Path, label: str, run_id: str) -> dict[str, Any] | None:
    """The note a supersede left beside the run it moved aside (who replaced it, when, why), or None
    when the run was never superseded."""
    path = county_dir / SUPERSEDED_DIR / label / f"{run_id}.json"
    if not path.is_file():
        return None
    remedy = f"it records that {run_id} was replaced: restore it from a backup (never delete it)"
    return text_fields(read_record(path, remedy), path, ("superseded_by", "superseded_at"), remedy)


ANSWERS_SUFFIX = ".returns"


def answers_dir(county_dir: Path, label: str, run_id: str) -> Path:
    """Where the banks' answers to a run's bank files are recorded (subsidy returns), one folder each:
    <county>/<label>.returns/<run id>/<answer>/."""
    return county_dir / f"{label}{ANSWERS_SUFFIX}" / run_id


def is_answered(folder: Path) -> bool:
    """Whether a run's answers folder (answers_dir) holds an answer (a folder being written is not one)."""
    return folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())


def refuse_if_answered(paths: RunPaths) -> None:
    """UsageError when a bank has answered a bank file of the period's accepted run: its files reached
    the bank, which paid the lines that succeeded, so a run replacing it would send that month again.
    A released run is refused on its own (monthly.py); this also covers a run answered but never released."""
    folder = answers_dir(paths.county_dir, paths.label, load(paths.accepted).run_id)
    if is_answered(folder):
        raise UsageError(
            f"{paths.county} {paths.label} was answered by the bank ({folder}): its bank files reached the bank, "
            "which paid the lines that succeeded, so it is never superseded. If they were handed over without a release record, record it "
            f"(subsidy approve {paths.accepted} --step check, then --step approve, by two people; then subsidy "
            f"release {paths.accepted} --by NAME); then correct the month through the next month's "
            'arrears and recoveries, or pay what it still owes with --supplement "reason"'
        )


def refuse_if_accepted(paths: RunPaths) -> None:
    """RunExistsError when the period has an accepted run; VerifyError when its folder holds no run."""
    refuse_accepted(paths.runs_dir, paths.county, paths.period)


def pid_alive(pid: int) -> bool:
    """Whether a process is running, without disturbing it."""
    if sys.platform == "win32":  # os.kill(pid, 0) would send it Ctrl-C there: ask for its exit code instead
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        try:
            running = (
                kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259
            )  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
        return bool(running)
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def lock_holder(text: str) -> int:
    """The process id a lock holds, or 0 when it holds none a process can have (empty, -1, 10**20)."""
    try:
        pid = int(text or 0)
    except ValueError:
        return 0
    return pid if 0 < pid <= _MAX_PID else 0


@contextmanager
def locked(paths: RunPaths) -> Iterator[str | None]:
    """Hold the county+period lock; yields a note when a lock left by a dead process was taken over."""
    paths.county_dir.mkdir(parents=True, exist_ok=True)
    note = None
    for _ in range(2):
        try:
            fd = os.open(paths.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                text = paths.lock.read_text(errors="replace").strip()
            except OSError:
                text = ""
            holder = lock_holder(text)
            if holder and pid_alive(holder):
                raise RunLockedError(
                    f"another run of {paths.county} is in progress (process {holder} holds {paths.lock}; "
                    "a county's runs read each other, so they go one at a time); wait for it to finish"
                ) from None
            # the process that held it is gone: its staging folder, if any, is garbage
            if holder or not text:
                note = (
                    f"removed a stale lock {paths.lock.name} left by process {holder or 'unknown'}, which is "
                    "no longer running (a run was interrupted); its partial files were discarded"
                )
            else:  # no process can have written it: a damaged or hand-edited lock holds no run
                shown = text if len(text) <= 11 else f"{text[:11]}…"  # 12 digits would be masked as an ID
                note = (
                    f"removed a stale lock {paths.lock.name} holding {shown!r}, which is not a process id "
                    "(the file was damaged or edited); the partial files of an interrupted run were discarded"
                )
            paths.lock.unlink(missing_ok=True)
            for stale in paths.county_dir.glob(".*.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        break
    else:
        raise RunLockedError(f"could not take the lock {paths.lock}; remove it if no run is in progress")
    try:
        yield note
    finally:
        paths.lock.unlink(missing_ok=True)


def sync_files(folder: Path) -> None:
    """fsync every file under folder, in path order: its bytes are on the disk, not only in the page cache."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())


def publish(staging: Path, paths: RunPaths) -> None:
    """fsync every file of the staged run, then make it the accepted one with a single rename (atomic on
    one file system)."""
    sync_files(staging)
    paths.accepted.parent.mkdir(parents=True, exist_ok=True)  # supplements/ for the first supplement
    os.rename(staging, paths.accepted)
