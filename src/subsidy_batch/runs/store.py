"""Where runs live, and how one becomes accepted: a lock, a temporary folder, one rename.

Layout under <runs-dir>/<county>/:
  <period>/                          the accepted run (never modified once there)
  superseded/<period>/<run_id>/      a run replaced by --supersede, moved aside unchanged
  superseded/<period>/<run_id>.json  why it was replaced, when, and by which run
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subsidy_batch.errors import RunExistsError, RunLockedError

MANIFEST = "manifest.json"
SUPERSEDED_DIR = "superseded"


@dataclass(frozen=True)
class RunPaths:
    runs_dir: Path
    county: str
    period: str

    @property
    def county_dir(self) -> Path:
        return self.runs_dir / self.county

    @property
    def accepted(self) -> Path:
        return self.county_dir / self.period

    @property
    def lock(self) -> Path:
        return self.county_dir / f".{self.period}.lock"

    def staging(self) -> Path:
        return self.county_dir / f".{self.period}.tmp-{os.getpid()}"

    def superseded(self, run_id: str) -> Path:
        return self.county_dir / SUPERSEDED_DIR / self.period / run_id


def read_manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))


def superseded_runs(paths: RunPaths) -> list[Path]:
    folder = paths.county_dir / SUPERSEDED_DIR / paths.period
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def next_revision(paths: RunPaths) -> int:
    """1 for the first run of a period; each supersede adds one (so a new bank batch id too)."""
    return 1 + len(superseded_runs(paths)) + (1 if paths.accepted.exists() else 0)


def supersede(paths: RunPaths, reason: str, new_run_id: str, when: str) -> dict[str, object]:
    """Move the accepted run aside unchanged, with a note saying why; returns what the new manifest records."""
    old = read_manifest(paths.accepted)
    old_id = str(old["run_id"])
    target = paths.superseded(old_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    note = {
        "run_id": old_id,
        "reason": reason,
        "superseded_at": when,
        "superseded_by": new_run_id,
        "created_at": old.get("created_at"),
    }
    target.with_suffix(".json").write_text(
        json.dumps(note, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    os.rename(paths.accepted, target)
    return {
        "run_id": old_id,
        "reason": reason,
        "path": str(target.relative_to(paths.runs_dir)),
        "created_at": old.get("created_at"),
    }


def refuse_if_accepted(paths: RunPaths) -> None:
    if paths.accepted.exists():
        try:
            made = read_manifest(paths.accepted).get("created_at", "an unknown time")
        except (OSError, ValueError):
            made = "an unknown time"
        raise RunExistsError(
            f"{paths.county} {paths.period} already has an accepted run ({paths.accepted}, made {made}); "
            f'it is never overwritten. To replace it, run again with --supersede "reason"'
        )


def _pid_alive(pid: int) -> bool:
    """Whether a process is running, without disturbing it."""
    if sys.platform == "win32":  # os.kill(pid, 0) would send it Ctrl-C there: ask for its exit code instead
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        try:
            running = kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
        return bool(running)
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


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
                holder = int(paths.lock.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and _pid_alive(holder):
                raise RunLockedError(
                    f"another run of {paths.county} {paths.period} is in progress (process {holder} holds "
                    f"{paths.lock}); wait for it to finish"
                ) from None
            # the process that held it is gone: its staging folder, if any, is garbage
            note = (
                f"removed a stale lock {paths.lock.name} left by process {holder or 'unknown'}, which is no "
                "longer running (a run was interrupted); its partial files were discarded"
            )
            paths.lock.unlink(missing_ok=True)
            for stale in paths.county_dir.glob(f".{paths.period}.tmp-*"):
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


def publish(staging: Path, paths: RunPaths) -> None:
    """Make the staged run the accepted one with a single rename (atomic on one file system)."""
    for path in staging.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    os.rename(staging, paths.accepted)
