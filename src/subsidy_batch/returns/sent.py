"""What a stored run sent to its banks: each bank file with its layout, read from the run's own snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from subsidy_batch.errors import ConfigError, ReturnsError, VerifyError
from subsidy_batch.outputs import bank, emit
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.rules.config import load_county
from subsidy_batch.rules.layouts import Layout
from subsidy_batch.runs.manifest import INPUT, Manifest, load
from subsidy_batch.runs.store import MANIFEST, answers_dir, county_dir_of, not_a_run


@dataclass(frozen=True)
class SentFile:
    """One bank file of a run: where it is, its bank, its layout and what its control record holds."""

    path: Path
    file: str  # as the manifest names it: bank/bank_01_<bank>.csv
    bank_name: str
    layout: Layout
    encoding: str  # the county's bank_file_encoding (the layout may name its own)
    items: int
    total: Decimal
    sha256: str

    def lines(self) -> pl.DataFrame:
        """reference, name, id_number, account and amount_fen of every detail line."""
        _, details = bank.read_bank_file(self.path, self.encoding, layout=self.layout)
        return details.select("reference", "name", "id_number", "account", "amount_fen")


@dataclass(frozen=True)
class SentRun:
    run_dir: Path
    manifest: Manifest
    files: tuple[SentFile, ...]

    @property
    def returns_dir(self) -> Path:
        """<runs>/<county>/<period>.returns/<run id>/: beside the run, never inside it (verify compares the
        run's own folder), and keyed by run id so a superseding run never sees another run's returns."""
        return answers_dir(county_dir_of(self.run_dir), self.manifest.period, self.manifest.run_id)


def sent_run(run_dir: Path) -> SentRun:
    """The run's bank files, each checked against its manifest checksum, with the layout it was written in."""
    if not (run_dir / MANIFEST).is_file():
        if (run_dir / INPUT).is_dir():  # a run's folder that lost its manifest: damaged, exit 9
            raise VerifyError(not_a_run(run_dir, county_dir_of(run_dir)))
        raise ReturnsError(
            f"{run_dir} is not a stored run (it holds no {MANIFEST}); name a run's folder, runs/<county>/<period>"
        )
    manifest = load(run_dir)  # a damaged manifest: VerifyError (exit 9), restore it from a backup
    inputs = run_dir / INPUT
    try:
        config = load_county(inputs / "config", manifest.county, load_schema(schema_dir=inputs / "schemas"))
    except ConfigError as exc:
        raise ReturnsError(f"{run_dir}: the run's own config snapshot cannot be read ({exc})") from exc
    files = []
    for entry in manifest.outputs:
        if not str(entry["file"]).startswith("bank/"):
            continue
        path = run_dir / entry["file"]
        if not path.is_file() or emit.sha256_file(path) != entry["sha256"]:
            raise ReturnsError(f"{path} does not match the run's manifest; run subsidy verify {run_dir}")
        layout = config.bank_layouts.for_bank(str(entry["bank_name"]))
        files.append(
            SentFile(
                path,
                str(entry["file"]),
                str(entry["bank_name"]),
                layout,
                config.bank_file_encoding,
                int(entry["rows"]),
                Decimal(str(entry["total"])),
                str(entry["sha256"]),
            )
        )
    return SentRun(run_dir, manifest, tuple(files))
