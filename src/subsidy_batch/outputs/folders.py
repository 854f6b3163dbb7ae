"""The --out folder of a command that writes beside the accepted runs (simulate, crosscheck), never in them."""

from __future__ import annotations

from pathlib import Path

from subsidy_batch.errors import StorageError, UsageError


def refuse_runs_folder(out: Path, what: str, runs_dir: Path | None = None) -> None:
    """UsageError when `out` is under a runs folder (any folder named runs, or `runs_dir`), where accepted
    runs are: `what` ("a scenario") says in the message what never writes there. Makes nothing."""
    resolved = out.resolve()
    inside = "runs" in resolved.parts or (
        runs_dir is not None and resolved.is_relative_to(runs_dir.resolve())
    )
    if inside:
        raise UsageError(f"--out {out} is under a runs folder; {what} never writes where accepted runs are")


def side_folder(out: Path, what: str, runs_dir: Path | None = None) -> None:
    """Make `out`, after refuse_runs_folder."""
    refuse_runs_folder(out, what, runs_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give the folder to write {what} to")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot write {what} to {out}: {exc.strerror or exc}") from exc
