"""Every command of the README's "Using it" block runs, as written, in a fresh copy of the checkout.

The block is read from README.md, so a command added there is tested here without touching this file.
The commands run in order in one copy of the checkout as a clone has it (every tracked file, the stored
runs under runs/ included), after the quick start's run, the way a new user meets them. Each must exit 0,
or the code its comment documents ("exits 5 ..."). Rules a command may rely on:

- a file it names must be in the checkout, or be a clerk's own file listed in CLERK_FILES below (made
  here from a bundled roster): a README example naming a file nobody has fails this test;
- a command without --county takes the county from the `subsidy.toml: county = "..."` its comment shows;
- `subsidy` is the installed command; it runs here as `python -m subsidy_batch` with the copy as cwd.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from tests.helpers import ROOT
from tests.test_install import fresh_checkout, quick_start_commands, readme_block


def _clerk_roster_xlsx(source: str, encoding: str) -> Callable[[Path], None]:
    """A clerk's own workbook: a bundled CSV roster saved as .xlsx, every cell text (IDs stay exact)."""

    def make(target: Path) -> None:
        text = (ROOT / source).read_bytes().decode(encoding)
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        frame.write_excel(target, worksheet="花名册")

    return make


# Files that README commands name but that a clerk brings: made in the copy before the commands run.
CLERK_FILES: dict[str, Callable[[Path], None]] = {
    "花名册.xlsx": _clerk_roster_xlsx("rosters/youyi/2024-05.csv", "gb18030"),
}


def using_it_commands() -> list[str]:
    return readme_block("Using it")


def comment_of(line: str) -> str:
    """The comment of a shell line (after an unquoted #), or ''."""
    in_quote: str | None = None
    for i, char in enumerate(line):
        if in_quote:
            in_quote = None if char == in_quote else in_quote
        elif char in "\"'":
            in_quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1 :].strip()
    return ""


def expected_exit(comment: str) -> int:
    match = re.search(r"\bexits (\d+)\b", comment)
    return int(match.group(1)) if match else 0


def subsidy(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SUBSIDY_COUNTY", "SUBSIDY_DEBUG"}}
    # The copy's schemas, as the command installed in a checkout finds its own.
    env["SUBSIDY_SCHEMA_DIR"] = str(cwd / "schemas")
    return subprocess.run(
        [sys.executable, "-m", "subsidy_batch", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_using_it_block_is_found() -> None:
    commands = using_it_commands()
    assert len(commands) >= 5
    assert all(shlex.split(c, comments=True)[0] == "subsidy" for c in commands), commands


def test_every_using_it_command_runs_as_written(tmp_path: Path) -> None:
    work = fresh_checkout(tmp_path / "checkout")
    # The quick start has been followed: its `subsidy ...` part has run in this checkout.
    quick = next(c for c in quick_start_commands() if " subsidy " in c)
    first = shlex.split(quick[quick.index("subsidy ") :], comments=True)
    assert subsidy(first[1:], work).returncode == 0

    timings = []
    for line in using_it_commands():
        args, comment = shlex.split(line, comments=True), comment_of(line)
        for arg in args:
            if arg in CLERK_FILES:
                CLERK_FILES[arg](work / arg)
            elif arg.endswith((".csv", ".xlsx", ".xls", ".ods", ".parquet")) and not arg.startswith("--"):
                is_output = args[args.index(arg) - 1] == "--out"
                assert is_output or (work / arg).exists(), (
                    f"README command names {arg}, which is neither in the checkout nor a clerk's file "
                    f"made by CLERK_FILES in {Path(__file__).name}: {line}"
                )
        settings = work / "subsidy.toml"
        if "--county" not in args and args[1] in {"run", "run-facilities", "check-config"}:
            toml = re.search(r"subsidy\.toml: (.+)$", comment)
            assert toml, f"README command has no --county and its comment no 'subsidy.toml: ...': {line}"
            settings.write_text(toml.group(1) + "\n", encoding="utf-8")
        start = time.perf_counter()
        done = subsidy(args[1:], work)
        timings.append((time.perf_counter() - start, line))
        settings.unlink(missing_ok=True)
        assert done.returncode == expected_exit(comment), (
            f"{line}\nexit {done.returncode}, README says {expected_exit(comment)}\n{done.stdout}\n{done.stderr}"
        )
    print("\n".join(f"{s:6.1f} s  {c}" for s, c in timings))
    slowest = max(timings)
    assert slowest[0] < 60, f"a README example takes {slowest[0]:.0f} s: {slowest[1]}"
