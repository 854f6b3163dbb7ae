"""Benchmark the full monthly run against an I/O floor, at several roster sizes.

    uv run python bench/bench.py                      # 100k, 1M and 10M people
    uv run python bench/bench.py --sizes 100000 1000000 --repeat 3

For each size it generates a synthetic roster (cached in --data, default bench/data/, not committed),
then measures, each as its own process so that start-up counts on both sides:

- floor: plain polars reads the roster and writes it back as a Parquet file of the same size;
- run:   `subsidy run 2024-05 --county jiaxiang --roster <file> --quiet` into a fresh runs folder,
         validation, every output, bank files and reconciliation included.

It prints wall time, peak memory (max RSS of the process), people per second, the ratio run / floor and
the per-stage seconds recorded in the run's manifest. Targets (issue 4, 2 cores / 24 GiB): 1M within 3x
the floor, 10M within 2x and 16 GiB, time no worse than linear from 1M to 10M.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = """
import sys, polars as pl
frame = pl.read_parquet(sys.argv[1])
frame.write_parquet(sys.argv[2], compression="zstd")
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one child process; fails loudly if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def roster(data: Path, people: int) -> Path:
    path = data / f"jiaxiang-{people}.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {people:,} people -> {path}", flush=True)
        seconds, _ = measure(
            [
                sys.executable,
                "-m",
                "subsidy_batch",
                "synth",
                "--county",
                "jiaxiang",
                "--people",
                str(people),
                "--period",
                "2024-05",
                "--out",
                str(path),
                "--seed",
                "42",
                "--broken",
            ]
        )
        print(f"  generated in {seconds:.1f} s", flush=True)
    return path


def bench(people: int, data: Path, repeat: int) -> dict[str, object]:
    source = roster(data, people)
    floors, runs, floor_mem, run_mem = [], [], [], []
    stages: dict[str, list[float]] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="subsidy-bench-") as tmp:
            seconds, mem = measure(
                [sys.executable, "-c", FLOOR, str(source), str(Path(tmp) / "floor.parquet")]
            )
            floors.append(seconds)
            floor_mem.append(mem)
            runs_dir = Path(tmp) / "runs"
            seconds, mem = measure(
                [
                    sys.executable,
                    "-m",
                    "subsidy_batch",
                    "run",
                    "2024-05",
                    "--county",
                    "jiaxiang",
                    "--roster",
                    str(source),
                    "--runs-dir",
                    str(runs_dir),
                    "--quiet",
                ]
            )
            runs.append(seconds)
            run_mem.append(mem)
            manifest = json.loads(
                (runs_dir / "jiaxiang" / "2024-05" / "manifest.json").read_text(encoding="utf-8")
            )
            for stage in manifest["stages"]:
                stages.setdefault(stage["stage"], []).append(stage["seconds"])
    run, floor = statistics.median(runs), statistics.median(floors)
    return {
        "people": people,
        "run_s": round(run, 2),
        "floor_s": round(floor, 2),
        "ratio": round(run / floor, 2),
        "run_peak_mib": round(max(run_mem)),
        "floor_peak_mib": round(max(floor_mem)),
        "people_per_s": round(people / run),
        "stages_s": {k: round(statistics.median(v), 2) for k, v in stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the median is reported")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data", help="where rosters are cached")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("nproc"):
        print(
            f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, "
            f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')}"
        )
    results = []
    print(
        "| people | run s | floor s | run / floor | run peak MiB | floor peak MiB | people/s | "
        "read | validate | compute | write | bank_files | reconcile |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for people in args.sizes:
        r = bench(people, args.data, args.repeat)
        results.append(r)
        s = r["stages_s"]
        assert isinstance(s, dict)
        print(
            f"| {people:,} | {r['run_s']} | {r['floor_s']} | {r['ratio']} | {r['run_peak_mib']} | "
            f"{r['floor_peak_mib']} | {r['people_per_s']:,} | "
            + " | ".join(
                str(s.get(k, "")) for k in ("read", "validate", "compute", "write", "bank_files", "reconcile")
            )
            + " |",
            flush=True,
        )
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        growth = (float(b["run_s"]) / float(a["run_s"])) / (int(b["people"]) / int(a["people"]))  # type: ignore[arg-type]
        print(f"time growth from {a['people']:,} to {b['people']:,} relative to linear: {growth:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
