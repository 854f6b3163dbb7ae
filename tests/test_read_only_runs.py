"""A runs folder that cannot be written (a read-only mount, an archive copy, a folder without write
permission): what only reads works, what writes says so in one sentence with exit 10, and nothing in the
folder changes (issue 10, item 4).

The folder is made read-only for the CLI process as the file system would make it: without write
permission (chmod) when the tests run as an ordinary user, and, as root (whom permissions do not stop), by
a read-only bind mount in a user namespace of its own (`unshare -Urm`), which needs no privilege. Where
neither can be had the tests are skipped, saying why."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.helpers import ROOT, approved

STORED = ROOT / "runs" / "jiaxiang"
_MOUNT_RO = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
# what the kernel says to a write there: EROFS on the mount, EACCES without the permission
_REFUSED = r"(Read-only file system|Permission denied)"


def _namespace_works(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "-Urm",
            "sh",
            "-c",
            _MOUNT_RO + ' && ! touch "$0/probe" 2>/dev/null',
            str(folder),
            "true",
        ],
        capture_output=True,
    )
    return probe.returncode == 0 and not (folder / "probe").exists()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the stored Jiaxiang runs (2023-11 to 2024-04, a supplement, a release), the runs folder."""
    folder = tmp_path_factory.mktemp("readonly") / "runs"
    shutil.copytree(STORED, folder / "jiaxiang")
    approved(folder / "jiaxiang" / "2024-04")  # checked and approved, so that `release` tries to write
    yield folder
    for path in (folder, *folder.rglob("*")):  # writable again, so that pytest can remove it
        if path.is_dir() and not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def read_only(runs: Path) -> Iterator[list[str]]:
    """The command prefix that runs the CLI with `runs` read-only."""
    if os.geteuid() != 0:
        for path in (runs, *runs.rglob("*")):
            if path.is_dir():
                path.chmod(0o555)
        yield [sys.executable, "-m", "subsidy_batch"]
    elif _namespace_works(runs):
        yield ["unshare", "-Urm", "sh", "-c", _MOUNT_RO, str(runs), sys.executable, "-m", "subsidy_batch"]
    else:
        pytest.skip("running as root, and no user namespace (unshare -Urm) to mount the folder read-only")


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _cli(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*prefix, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SUBSIDY_COUNTY": "", "NO_COLOR": "1"},
    )
    assert "Traceback" not in done.stdout + done.stderr
    return done


def _refused(done: subprocess.CompletedProcess[str], pattern: str) -> None:
    """Exit 10 and exactly one line on stderr, matching `pattern`."""
    import re

    assert done.returncode == 10, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert re.fullmatch(pattern + r"\n", done.stderr), done.stderr


def test_an_auditor_verifies_every_run_in_a_read_only_folder_and_nothing_changes(
    runs: Path, read_only: list[str]
) -> None:
    before = _tree(runs)
    done = _cli(read_only, "verify", str(runs))
    assert done.returncode == 0, done.stderr
    # committed: 2023-11 .. 2024-04 (6 months), the supplement 2024-03-s1 and the superseded 2024-03; and
    # 2024-05 where the README's quick start was run in this checkout first
    verified = [line for line in done.stdout.splitlines() if line.endswith(")") and "byte-identical" in line]
    assert len(verified) == 8 + (runs / "jiaxiang" / "2024-05").is_dir(), done.stdout
    assert _tree(runs) == before


def test_history_and_explain_read_a_read_only_folder(runs: Path, read_only: list[str]) -> None:
    items = pl.read_parquet(runs / "jiaxiang" / "2024-04" / "line_items.parquet")
    paid = items.filter(pl.col("status") == "paid").row(0, named=True)
    before = _tree(runs)
    history = _cli(read_only, "history", paid["id_number"], "--county", "jiaxiang", "--runs-dir", str(runs))
    assert history.returncode == 0, history.stderr
    assert "2024-04" in history.stdout
    explain = _cli(read_only, "explain", paid["id_number"], str(runs / "jiaxiang" / "2024-04"))
    assert explain.returncode == 0, explain.stderr
    assert paid["rule"] in explain.stdout
    assert paid["id_number"] not in history.stdout + explain.stdout  # shown masked, as everywhere
    assert _tree(runs) == before


def test_a_run_into_a_read_only_folder_is_exit_10_and_accepts_nothing(
    runs: Path, read_only: list[str]
) -> None:
    before = _tree(runs)
    # the month after the last stored one (2024-05, or 2024-06 where the quick start ran 2024-05 here)
    month = "2024-06" if (runs / "jiaxiang" / "2024-05").is_dir() else "2024-05"
    roster = str(ROOT / "rosters" / "jiaxiang" / "2024-05.csv")
    done = _cli(
        read_only,
        "run",
        month,
        "--county",
        "jiaxiang",
        "--roster",
        roster,
        "--runs-dir",
        str(runs),
        "--quiet",
    )
    folder = runs / "jiaxiang"
    _refused(
        done,
        rf"error: cannot write the run of jiaxiang {month} under {runs} \({folder}/\.lock: {_REFUSED}\); "
        "check that the runs folder exists, is writable and has free space, then run again",
    )
    superseding = _cli(
        read_only, "run", "2024-04", "--county", "jiaxiang", "--runs-dir", str(runs), "--quiet",
        "--supersede", "roster corrected",
    )  # fmt: skip
    _refused(
        superseding, rf"error: cannot write the run of jiaxiang 2024-04 under {runs} \(.*{_REFUSED}\); .*"
    )
    # a county with no folder yet: the folder itself cannot be made
    first = _cli(read_only, "run", "2024-05", "--county", "yanzhou", "--runs-dir", str(runs), "--quiet")
    _refused(
        first,
        rf"error: cannot write the run of yanzhou 2024-05 under {runs} \({runs}/yanzhou: {_REFUSED}\); "
        "check that the runs folder exists, is writable and has free space, then run again",
    )
    assert _tree(runs) == before


def test_a_release_a_refund_and_a_bank_answer_in_a_read_only_folder_are_exit_10(
    runs: Path, read_only: list[str], tmp_path: Path
) -> None:
    month = runs / "jiaxiang" / "2024-04"
    answers = tmp_path / "answers"
    made = subprocess.run(
        [sys.executable, "-m", "subsidy_batch", "synth-returns", str(month), "--out", str(answers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # written outside the runs folder, so it needs no write there
    assert made.returncode == 0, made.stderr
    before = _tree(runs)

    release = _cli(read_only, "release", str(month), "--by", "王会计")
    _refused(
        release,
        rf"error: cannot write the release record {runs}/jiaxiang/released/.+\.json: {_REFUSED}; check that "
        "the runs folder is writable and has free space, then release again",
    )

    check = _cli(
        read_only, "approve", str(runs / "jiaxiang" / "2024-02"), "--step", "check", "--by", "李审核"
    )
    _refused(
        check,
        rf"error: cannot write the approval record {runs}/jiaxiang/approved/.+\.check\.json: {_REFUSED}; check "
        "that the runs folder is writable and has free space, then approve again",
    )

    # 郑迟报's January, paid after her death on 2023-12-10, refunded by the family
    refund = _cli(
        read_only, "recovered", str(month), "--id", "37082919500601903X", "--benefit", "low_income_living",
        "--for-period", "2024-01", "--by", "王会计",
    )  # fmt: skip
    _refused(
        refund,
        rf"error: cannot write the refund record {runs}/jiaxiang/.+\.json: {_REFUSED}; check that the runs "
        "folder is writable and has free space, then record the refund again",
    )

    answer = sorted(answers.iterdir())[0]
    run_id = json.loads((month / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    returned = _cli(read_only, "returns", str(month), str(answer))
    _refused(
        returned,
        rf"error: cannot record the result under {runs}/jiaxiang/2024-04\.returns/{run_id}: "
        rf"{_REFUSED}; check that the runs folder is writable and has free space, then import again",
    )
    assert _tree(runs) == before
