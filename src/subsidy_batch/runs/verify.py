"""Re-run a stored run from its own snapshot and prove every output is byte-identical."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subsidy_batch.errors import VerifyError
from subsidy_batch.outputs import emit
from subsidy_batch.runs import facility, monthly
from subsidy_batch.runs.lifecycle import Kind, reproduce
from subsidy_batch.runs.manifest import INPUT, Manifest, load
from subsidy_batch.runs.store import MANIFEST, county_dir_of

# Every kind of run a manifest may name; a kind not listed cannot be reproduced by this version.
KINDS: dict[str, Kind[Any, Any]] = {kind.name: kind for kind in (monthly.KIND, facility.KIND)}
# Files that hold clock times by design (CONTRACT.md); the manifest's other facts are compared below.
TIMESTAMPED = {MANIFEST, "audit.jsonl"}


@dataclass
class Verdict:
    run_dir: Path
    recorded_version: str
    files: int = 0
    differing: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differing


def find_runs(root: Path) -> list[Path]:
    """A run folder itself, or every accepted and superseded run below a runs folder."""
    if (root / MANIFEST).is_file():
        return [root]
    found = [p.parent for p in root.rglob(MANIFEST) if not any(part.startswith(".") for part in p.parts)]
    if not found:
        raise VerifyError(f"{root} holds no run (no {MANIFEST} found)")
    return sorted(found)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _refuse_missing_inputs(run_dir: Path, manifest: Manifest) -> None:
    """A run is re-run from its own copy of every input, config file and schema: without one it cannot be."""
    wanted = [i.file for i in manifest.inputs if not i.facts.get("reference")]
    wanted += [f"{INPUT}/config/{c.file}" for c in manifest.config]
    wanted += [f"{INPUT}/schemas/{s.file}" for s in manifest.schemas]
    missing = [run_dir / INPUT] if not (run_dir / INPUT).is_dir() else []
    missing += [run_dir / name for name in wanted if not (run_dir / name).is_file()]
    if missing:
        raise VerifyError(
            f"{missing[0]} is missing, so the run cannot be re-run from its own copy of what it read: "
            "restore the run folder from a backup"
        )


def verify_run(run_dir: Path) -> Verdict:
    """Re-execute a stored run (manifest version 1 or 2, any kind, any number of inputs) from its own
    input/ folder and compare every file and the manifest's facts."""
    manifest = load(run_dir)
    verdict = Verdict(run_dir, manifest.tool_version)
    kind = KINDS.get(manifest.kind)
    if kind is None:
        raise VerifyError(f"{run_dir}: a run of kind {manifest.kind!r} cannot be reproduced by this version")
    _refuse_missing_inputs(run_dir, manifest)
    recorded = manifest.checksums() | {
        i.file: i.sha256 for i in manifest.inputs if not i.facts.get("reference")
    }
    for name, digest in sorted(recorded.items()):
        if not (run_dir / name).is_file() or emit.sha256_file(run_dir / name) != digest:
            verdict.differing.append(f"{name} (stored file does not match its manifest checksum)")
    with tempfile.TemporaryDirectory(prefix="subsidy-verify-") as tmp:
        shutil.copytree(run_dir / INPUT, Path(tmp) / INPUT)
        fresh = reproduce(kind, manifest, Path(tmp) / INPUT, county_dir_of(run_dir))
        emit.write_json(fresh.to_json(), Path(tmp) / MANIFEST)
        stored, again = _files(run_dir) - TIMESTAMPED, _files(Path(tmp)) - TIMESTAMPED
        verdict.files = len(stored | again)
        for name in sorted(stored | again):
            if name not in again:
                verdict.differing.append(f"{name} (not produced any more)")
            elif name not in stored:
                verdict.differing.append(f"{name} (new file)")
            elif (run_dir / name).read_bytes() != (Path(tmp) / name).read_bytes():
                verdict.differing.append(name)
        was, now = manifest.reproducible_facts(), fresh.reproducible_facts()
        for key in was:
            if was[key] != now[key]:
                verdict.differing.append(f"{MANIFEST}: {key}")
    return verdict
