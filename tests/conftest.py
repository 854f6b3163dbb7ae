"""Shared fixtures: a private copy of config and a small synthetic roster with broken rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from subsidy_batch.period import Period
from subsidy_batch.synth import roster, with_broken_rows
from tests.helpers import CONFIG


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clerk's working folder: config/, rosters/jiaxiang/2024-05.csv, empty runs/; cwd is set to it."""
    shutil.copytree(CONFIG, tmp_path / "config")
    (tmp_path / "rosters" / "jiaxiang").mkdir(parents=True)
    frame = with_broken_rows(roster("jiaxiang", 400, Period(2024, 5), seed=11))
    (tmp_path / "rosters" / "jiaxiang" / "2024-05.csv").write_bytes(frame.write_csv().encode("utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUBSIDY_COUNTY", raising=False)
    return tmp_path
