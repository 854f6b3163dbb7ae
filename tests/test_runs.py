"""A run as a financial record: never overwritten, superseded with a reason, atomic, locked, reconciled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import EXIT_CODES, app
from subsidy_batch.errors import ReconciliationError, RunLockedError, SubsidyError
from subsidy_batch.outputs import bank
from subsidy_batch.period import Period
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.synth import roster

runner = CliRunner()


def _request(workdir: Path, **kw) -> RunRequest:
    return RunRequest(
        Period(2024, 5), "jiaxiang", None, workdir / "runs", workdir / "config", workdir / "rosters", **kw
    )


def _accepted(workdir: Path) -> Path:
    return workdir / "runs" / "jiaxiang" / "2024-05"


def _leftovers(workdir: Path) -> list[str]:
    county = workdir / "runs" / "jiaxiang"
    return sorted(p.name for p in county.iterdir()) if county.exists() else []


def test_supersede_keeps_the_old_run_and_the_new_manifest_names_it(workdir: Path) -> None:
    first = run_month(_request(workdir))
    old_id = first.manifest["run_id"]
    second = run_month(_request(workdir, supersede_reason="3 bank accounts supplied by 纸坊镇"))
    kept = workdir / "runs" / "jiaxiang" / "superseded" / "2024-05" / old_id
    assert (kept / "manifest.json").is_file()
    assert json.loads((kept / "manifest.json").read_text(encoding="utf-8"))["run_id"] == old_id
    note = json.loads(kept.with_suffix(".json").read_text(encoding="utf-8"))
    assert note["reason"] == "3 bank accounts supplied by 纸坊镇"
    assert note["superseded_by"] == second.manifest["run_id"]
    assert second.manifest["supersedes"]["run_id"] == old_id
    assert second.manifest["revision"] == 2 and first.manifest["revision"] == 1
    # a new revision is a new bank batch: the bank can never take it for the old one
    assert second.manifest["run_id"] != old_id
    header = next((second.run_dir / "bank").glob("*.csv")).read_bytes().decode("gb18030").split(",")[1]
    assert header == second.manifest["run_id"]


def test_supersede_needs_an_existing_run_and_a_reason(workdir: Path) -> None:
    with pytest.raises(SubsidyError, match="no accepted run of jiaxiang 2024-05 to supersede"):
        run_month(_request(workdir, supersede_reason="x"))
    run_month(_request(workdir))
    with pytest.raises(SubsidyError, match="needs a reason"):
        run_month(_request(workdir, supersede_reason="  "))


def test_the_cli_reports_what_was_superseded(workdir: Path) -> None:
    assert runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang", "--quiet"]).exit_code == 0
    result = runner.invoke(
        app, ["run", "2024-05", "--county", "jiaxiang", "--quiet", "--supersede", "wrong roster"]
    )
    assert result.exit_code == 0
    assert "supersedes      jiaxiang-2024-05-1-" in result.stdout and "wrong roster" in result.stdout


def test_a_reconciliation_mismatch_fails_the_run_and_accepts_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bank.write_bank_files

    def drop_a_payee(payments: pl.DataFrame, *args, **kwargs):
        return real(payments.slice(1), *args, **kwargs)

    monkeypatch.setattr(bank, "write_bank_files", drop_a_payee)
    with pytest.raises(ReconciliationError, match=r"paid line items .* / bank files"):
        run_month(_request(workdir))
    assert not _accepted(workdir).exists()
    assert _leftovers(workdir) == []  # no staging folder, no lock


def test_a_bank_file_whose_control_record_disagrees_is_named_and_nothing_is_accepted(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the read-back reads the bank files side by side (runs/totals.py): each answer is the named file's
    real = bank.read_bank_file

    def one_more_in_the_third(path: Path, *args, **kwargs):
        control, details = real(path, *args, **kwargs)
        return (control | {"items": control["items"] + 1}) if path.name.startswith(
            "bank_03_"
        ) else control, details

    monkeypatch.setattr(bank, "read_bank_file", one_more_in_the_third)
    with pytest.raises(ReconciliationError) as raised:
        run_month(_request(workdir))
    message = str(raised.value)
    assert (
        "bank_03_中国邮政储蓄银行嘉祥县支行.csv: control record disagrees with its detail records" in message
    )
    assert "bank_01_" not in message and "bank_02_" not in message and "bank_04_" not in message
    assert not _accepted(workdir).exists()


def test_a_run_refused_by_a_live_lock_exits_8_and_a_stale_lock_is_explained(workdir: Path) -> None:
    county = workdir / "runs" / "jiaxiang"
    county.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (county / ".lock").write_text(f"{holder.pid}\n")
        result = runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang"])
        assert result.exit_code == EXIT_CODES[RunLockedError] == 8
        assert f"process {holder.pid} holds" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    # the holder is dead now: its lock is stale
    result = runner.invoke(app, ["run", "2024-05", "--county", "jiaxiang"])
    assert result.exit_code == 0, result.output
    assert f"removed a stale lock .lock left by process {holder.pid}" in result.stderr
    assert _leftovers(workdir) == ["2024-05"]


@pytest.fixture(scope="module")
def big_roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    roster("jiaxiang", 200_000, Period(2024, 5), seed=9).write_parquet(path)
    return path


# Observable points of a run, in order: the kill lands just after each one appears in the staging folder.
KILL_POINTS = {
    "lock taken": "",
    "roster copied": "input/roster.parquet",
    "audit log started": "audit.jsonl",
    "line items written": "line_items.parquet",
    "bank files under way": "bank",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_at_any_moment_leaves_no_accepted_run_and_the_next_run_succeeds(
    workdir: Path, big_roster: Path, point: str
) -> None:
    cmd = [
        sys.executable,
        "-m",
        "subsidy_batch",
        "run",
        "2024-05",
        "--county",
        "jiaxiang",
        "--roster",
        str(big_roster),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    county = workdir / "runs" / "jiaxiang"
    deadline = time.monotonic() + 60

    def reached() -> bool:
        if not KILL_POINTS[point]:
            return (county / ".lock").exists()
        return any((staging / KILL_POINTS[point]).exists() for staging in county.glob(".2024-05.tmp-*"))

    while not reached() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    accepted = _accepted(workdir)
    if accepted.exists():  # it finished before the kill landed: then it is complete
        assert (accepted / "manifest.json").is_file()
        pytest.skip("the run finished before it was killed")
    assert [p for p in _leftovers(workdir) if not p.startswith(".")] == []
    again = subprocess.run(cmd[:-1], capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "removed a stale lock" in again.stderr
    assert _leftovers(workdir) == ["2024-05"]


def test_bank_files_may_be_utf8_when_the_county_says_so(workdir: Path) -> None:
    path = workdir / "config" / "counties" / "jiaxiang.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("bank_file_encoding: gb18030", "bank_file_encoding: utf-8"),
        encoding="utf-8",
    )
    run_dir = run_month(_request(workdir)).run_dir
    text = next((run_dir / "bank").glob("*.csv")).read_bytes().decode("utf-8")
    assert "嘉祥县 养老补贴" in text


def test_outputs_are_identical_with_one_or_two_polars_threads(workdir: Path) -> None:
    outs = []
    for threads in ("1", "2"):
        runs = workdir / f"runs_{threads}"
        env = dict(os.environ, POLARS_MAX_THREADS=threads)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "subsidy_batch",
                "run",
                "2024-05",
                "--county",
                "jiaxiang",
                "--runs-dir",
                str(runs),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outs.append(runs / "jiaxiang" / "2024-05")
    files = sorted(str(p.relative_to(outs[0])) for p in outs[0].rglob("*") if p.is_file())
    for rel in files:
        if rel not in {"manifest.json", "audit.jsonl"}:
            assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_two_runs_at_once_the_second_is_refused_while_the_first_holds_the_lock(
    workdir: Path, big_roster: Path
) -> None:
    cmd = [
        sys.executable,
        "-m",
        "subsidy_batch",
        "run",
        "2024-05",
        "--county",
        "jiaxiang",
        "--roster",
        str(big_roster),
        "--quiet",
    ]
    lock = workdir / "runs" / "jiaxiang" / ".lock"  # the county's lock
    # the second clerk's process is already started (imports done) and waits for the word "go"
    # (the command line imports the library lazily: import it here, so "go" starts the run at once)
    ready = (
        "import sys; from subsidy_batch.cli import app; import subsidy_batch.runs.monthly; "
        "print('ready', flush=True); sys.stdin.readline(); app(prog_name='subsidy')"
    )
    args = ["run", "2024-05", "--county", "jiaxiang", "--roster", str(big_roster), "--quiet"]
    second = subprocess.Popen(
        [sys.executable, "-c", ready, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert second.stdout is not None and second.stdout.readline().strip() == "ready"
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    _, err = second.communicate("go\n", timeout=60)
    assert first.wait(timeout=120) == 0
    assert second.returncode == 8, err
    assert f"process {first.pid} holds" in err
    assert _leftovers(workdir) == ["2024-05"]


def test_every_file_is_fsynced_before_the_rename_that_publishes_the_run(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the early sync (lifecycle.execute, while the outputs are read back) is a head start only: publish
    # still fsyncs every file of the staging folder, after the manifest and the audit log are written
    from subsidy_batch.runs import store

    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(("rename", str(src)))
        real_rename(src, dst)

    monkeypatch.setattr(store.os, "fsync", fsync)
    monkeypatch.setattr(store.os, "rename", rename)
    result = run_month(_request(workdir))
    published = next(i for i, (what, _) in enumerate(events) if what == "rename")
    staging = Path(events[published][1])
    files = sorted(p.relative_to(result.run_dir) for p in result.run_dir.rglob("*") if p.is_file())
    assert {Path("manifest.json"), Path("audit.jsonl"), Path("line_items.parquet")} <= set(files)
    assert any(p.parts[0] == "input" for p in files) and any(p.parts[0] == "bank" for p in files)
    synced = [Path(path).relative_to(staging) for what, path in events[:published] if what == "fsync"]
    # publish's pass: every file once, in order, the last thing before the rename
    assert synced[-len(files) :] == files
    # the head start: the outputs (not yet the manifest) were synced once before, while being read back
    early = synced[: -len(files)]
    assert Path("line_items.parquet") in early and Path("manifest.json") not in early
