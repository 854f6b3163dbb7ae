"""Re-run a stored run from its own snapshot and prove every output is byte-identical."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from subsidy_batch.errors import VerifyError
from subsidy_batch.outputs import emit
from subsidy_batch.period import Period
from subsidy_batch.runs.facility import KIND, execute_facilities
from subsidy_batch.runs.monthly import INPUT, execute
from subsidy_batch.runs.store import MANIFEST, read_manifest

# Files that hold clock times by design (CONTRACT.md); the manifest's other facts are compared below.
TIMESTAMPED = {MANIFEST, "audit.jsonl"}
MANIFEST_FACTS = ("run_id", "revision", "county", "period", "inputs", "schema", "config", "outputs", "totals")


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


def verify_run(run_dir: Path) -> Verdict:
    manifest = read_manifest(run_dir)
    verdict = Verdict(run_dir, str(manifest.get("tool_version")))
    recorded = {e["file"]: e["sha256"] for e in [*manifest["outputs"], *manifest["inputs"]]}
    for name, digest in sorted(recorded.items()):
        if not (run_dir / name).is_file() or emit.sha256_file(run_dir / name) != digest:
            verdict.differing.append(f"{name} (stored file does not match its manifest checksum)")
    with tempfile.TemporaryDirectory(prefix="subsidy-verify-") as tmp:
        shutil.copytree(run_dir / INPUT, Path(tmp) / INPUT)
        (original,) = manifest["inputs"]
        if manifest.get("kind") == KIND:  # a yearly facility run
            fresh = execute_facilities(
                Path(tmp) / INPUT,
                str(manifest["county"]),
                int(manifest["year"]),
                int(manifest.get("revision", 1)),
                original["original_name"],
                lambda _: None,
            )
        else:
            fresh = execute(
                Path(tmp) / INPUT,
                str(manifest["county"]),
                Period.parse(str(manifest["period"])),
                int(manifest.get("revision", 1)),
                original["original_name"],
                lambda _: None,
                accept_foreign=bool((manifest.get("arguments") or {}).get("accept_foreign_roster")),
            )
        emit.write_json(fresh, Path(tmp) / MANIFEST)
        stored, again = _files(run_dir) - TIMESTAMPED, _files(Path(tmp)) - TIMESTAMPED
        verdict.files = len(stored | again)
        for name in sorted(stored | again):
            if name not in again:
                verdict.differing.append(f"{name} (not produced any more)")
            elif name not in stored:
                verdict.differing.append(f"{name} (new file)")
            elif (run_dir / name).read_bytes() != (Path(tmp) / name).read_bytes():
                verdict.differing.append(name)
        for key in MANIFEST_FACTS:
            if manifest.get(key) != fresh.get(key):
                verdict.differing.append(f"{MANIFEST}: {key}")
    return verdict
