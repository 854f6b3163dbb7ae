"""Rebuild the stored sample runs under runs/ from the sample rosters.

Stored runs are financial records: CI verifies each one on every build ('subsidy verify runs'), so a
change that alters their output fails. Regenerate them only on purpose, in a commit of its own that
says why the outputs changed:

    uv run python scripts/regenerate_runs.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"
STEPS = [
    ["run", "2024-03", "--county", "jiaxiang"],
    ["run", "2024-04", "--county", "jiaxiang"],
    ["run", "2024-03", "--county", "youyi"],
    ["run", "2024-04", "--county", "youyi"],
    # the township sent the missing bank accounts after the first April run
    [
        "run",
        "2024-04",
        "--county",
        "youyi",
        "--roster",
        "rosters/youyi/2024-04-corrected.csv",
        "--supersede",
        "missing bank accounts supplied by the townships after the first run",
    ],
    # Anqiu's yearly operating subsidies to facilities
    ["run-facilities", "2024", "--county", "anqiu"],
]


def main() -> None:
    for county in ("jiaxiang", "youyi", "anqiu"):
        shutil.rmtree(RUNS / county, ignore_errors=True)
    for step in STEPS:
        subprocess.run([sys.executable, "-m", "subsidy_batch", *step, "--quiet"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
