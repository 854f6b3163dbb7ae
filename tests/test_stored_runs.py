"""The runs stored in the repository reproduce byte for byte, and verify notices any change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from subsidy_batch.cli import app
from subsidy_batch.outputs import emit
from subsidy_batch.runs.verify import find_runs, verify_run
from tests.helpers import ROOT

STORED = find_runs(ROOT / "runs")


def test_the_repository_keeps_two_months_for_two_counties_and_a_superseded_run() -> None:
    names = {str(p.relative_to(ROOT / "runs")) for p in STORED}
    assert {
        "jiaxiang/2024-03",
        "jiaxiang/2024-04",
        "youyi/2024-03",
        "youyi/2024-04",
        "anqiu/facilities-2024",
    } <= names
    superseded = [n for n in names if "/superseded/" in n]
    assert superseded
    manifest = json.loads((ROOT / "runs" / "youyi" / "2024-04" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["supersedes"]["path"] in superseded and manifest["supersedes"]["path"].startswith(
        "youyi/"
    )
    assert manifest["supersedes"]["reason"]


@pytest.mark.parametrize("run_dir", STORED, ids=[str(p.relative_to(ROOT / "runs")) for p in STORED])
def test_every_stored_run_reproduces_byte_for_byte(run_dir: Path) -> None:
    verdict = verify_run(run_dir)
    assert verdict.identical, verdict.differing


@pytest.fixture
def copy_of_a_run(tmp_path: Path) -> Path:
    # the whole county: a monthly run is reproduced from its snapshot and the runs before it that it read
    shutil.copytree(ROOT / "runs" / "jiaxiang", tmp_path / "jiaxiang")
    return tmp_path / "jiaxiang" / "2024-04"


def test_verify_names_a_stored_file_that_was_altered(copy_of_a_run: Path) -> None:
    bank_file = next((copy_of_a_run / "bank").glob("*.csv"))
    bank_file.write_bytes(bank_file.read_bytes().replace(b"100.00", b"900.00", 1))
    verdict = verify_run(copy_of_a_run)
    rel = f"bank/{bank_file.name}"
    assert f"{rel} (stored file does not match its manifest checksum)" in verdict.differing
    assert rel in verdict.differing


def test_verify_fails_when_the_code_would_now_write_different_bytes(
    copy_of_a_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emit, "COMPRESSION_LEVEL", 9)  # stands for any change to the code's output
    verdict = verify_run(copy_of_a_run)
    assert {"line_items.parquet", "payments.parquet", "rejected.parquet"} <= set(verdict.differing)
    result = CliRunner().invoke(app, ["verify", str(copy_of_a_run)])
    assert result.exit_code == 9
    assert "DIFFERS" in result.stdout and "do not reproduce" in result.stderr


def test_verify_on_the_whole_runs_folder_reports_each_run() -> None:
    result = CliRunner().invoke(app, ["verify", str(ROOT / "runs")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("byte-identical") == len(STORED)


@pytest.mark.parametrize("run_dir", STORED, ids=[str(p.relative_to(ROOT / "runs")) for p in STORED])
def test_no_full_id_or_account_outside_the_fields_that_must_carry_them(run_dir: Path) -> None:
    """Logs, manifest, messages and every Parquet column except id_number / bank_account are clean.

    The ID and account columns and the bank files carry full numbers by design: the bank needs them.
    """
    source = pl.read_csv(next((run_dir / "input").glob("roster.*")), infer_schema=False)
    columns = [
        c for c in ("公民身份号码", "银行账号") if c in source.columns
    ]  # facility rosters: accounts only
    assert columns
    secrets = [v for c in columns for v in source.get_column(c).to_list() if v and len(v) >= 8]
    texts = [
        (run_dir / "audit.jsonl").read_text(encoding="utf-8"),
        (run_dir / "manifest.json").read_text(encoding="utf-8"),
    ]
    for name in ("line_items.parquet", "payments.parquet", "rejected.parquet"):
        frame = pl.read_parquet(run_dir / name).drop("id_number", "bank_account", strict=False)
        texts.append(frame.select(pl.all().cast(pl.String)).write_csv())
    leaks = [s for s in secrets for t in texts if s in t]
    assert leaks == []
