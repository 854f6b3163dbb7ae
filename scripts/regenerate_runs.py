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
J = ["--county", "jiaxiang"]
STEPS = [
    # Jiaxiang's six months before the quick start's 2024-05 (scripts/make_samples.py sequence())
    ["run", "2023-11", *J],
    ["run", "2023-12", *J],
    ["run", "2024-01", *J],
    ["run", "2024-02", *J],
    ["run", "2024-03", *J],
    [
        "run",
        "2024-03",
        *J,
        "--roster",
        "rosters/jiaxiang/2024-03-corrected.csv",
        "--supersede",
        "the accounts of 周八十 and 吴九十 supplied by 纸坊镇",
    ],
    # checked and approved by two people before the bank files go to the banks (subsidy approve)
    ["approve", "runs/jiaxiang/2024-03", "--step", "check", "--by", "李审核"],
    ["approve", "runs/jiaxiang/2024-03", "--step", "approve", "--by", "张局长"],
    ["release", "runs/jiaxiang/2024-03", "--by", "王会计", "--note", "handed to the banks on 2024-03-15"],
    [
        "run",
        "2024-03",
        *J,
        "--roster",
        "rosters/jiaxiang/2024-03-supplement.csv",
        "--supplement",
        "陈后批 approved late by 纸坊镇",
    ],
    ["run", "2024-04", *J],
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
        quiet = ["--quiet"] if step[0].startswith("run") else []
        subprocess.run([sys.executable, "-m", "subsidy_batch", *step, *quiet], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
