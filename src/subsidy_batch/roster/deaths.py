"""Read and check a death list (死亡名单: 公安 死亡注销, 殡葬 火化, 卫健 deaths) like a roster, with its own
schema (schemas/deaths.yaml), and merge it to one death per person.

A row with any problem is rejected with every problem, row and column (deaths_rejected.parquet); the
others are applied. A person listed more than once (殡葬 and 公安) is one death at the earliest date, with
every source and date kept. IDs are matched as 18 characters: 15-digit ones were converted by the schema's
id_15_to_18 step. Nothing here looks at an ID's area code: it never decides 户籍, and a retired code is
still the same person's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from subsidy_batch.errors import DeathListError, RosterError
from subsidy_batch.period import Period
from subsidy_batch.roster.read import ROW, RawRoster, read_roster, said_of
from subsidy_batch.roster.schema import RosterSchema, load_schema
from subsidy_batch.roster.validate import check_rows, typed_accepted

SCHEMA_NAME = "deaths"
DEATH_LIST_COLUMNS = {
    "id_number": pl.String,
    "name": pl.String,  # as the list writes it (the first row of the person)
    "id_listed": pl.String,  # the ID(s) as written on the list, e.g. a 15-digit one; "; " between forms
    "list_death_date": pl.Date,  # the earliest date the list gives
    "sources": pl.String,  # every source with its date: "公安 2024-05-04; 殡葬 2024-05-03"
    "list_rows": pl.String,  # the list's data rows of the person: "3; 7"
    "list_row_count": pl.Int32,
}


@dataclass(frozen=True)
class DeathList:
    people: pl.DataFrame  # one row per person, DEATH_LIST_COLUMNS
    rejected: pl.DataFrame  # one row per (row, problem), validate.REJECTED_COLUMNS
    rows_read: int
    rows_applied: int
    source: str  # the clerk's file name
    encoding: str

    @property
    def rows_rejected(self) -> int:
        return self.rejected.get_column("row").n_unique()


def load_death_schema(schema_dir: Path) -> RosterSchema:
    return load_schema(SCHEMA_NAME, schema_dir=schema_dir)


def refuse_unreadable(path: Path) -> None:
    """Before the lock and any run folder: a death list that is not there is one sentence."""
    if not path.is_file():
        raise DeathListError(
            f"death list file {path} does not exist (or is not a file); give the path of the month's "
            "death list (.csv, .xlsx, .xls, .ods or .parquet) with --deaths"
        )
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise DeathListError(
            f"cannot open the death list {path} ({exc.strerror or exc}); check that the file can be read"
        ) from exc


def read_death_list(path: Path, schema: RosterSchema, name: str) -> RawRoster:
    """The list as text below its header, read by the roster's reader; its errors name the death list."""
    try:
        raw = read_roster(path, schema, name)
    except RosterError as exc:
        # the reader speaks of "the roster"; here the file is the death list, and the exit code is its own
        raise DeathListError(said_of(str(exc), "death list")) from exc
    return replace(raw, source=Path(name))


def check_death_list(raw: RawRoster, schema: RosterSchema, period: Period, county: str) -> DeathList:
    """Reject the bad rows (every problem of each), then merge the good ones to one death per person."""
    checked = check_rows(raw, schema, str(period), county, key="id_number", period_end=period.last_day)
    good = typed_accepted(checked, schema)
    given = raw.frame.select(ROW, pl.col("id_number").alias("id_given"))
    good = good.join(given, on=ROW, how="left").sort(ROW)
    people = (
        good.group_by("id_number", maintain_order=True)
        .agg(
            name=pl.col("name").first(),
            id_listed=pl.col("id_given").str.strip_chars().unique(maintain_order=True).str.join("; "),
            list_death_date=pl.col("death_date").min(),
            sources=pl.format("{} {}", pl.col("source"), pl.col("death_date").dt.strftime("%Y-%m-%d"))
            .unique()
            .sort()
            .str.join("; "),
            list_rows=pl.col(ROW).cast(pl.String).str.join("; "),
            list_row_count=pl.len().cast(pl.Int32),
        )
        .sort("id_number")
        .select(list(DEATH_LIST_COLUMNS))
    )
    return DeathList(
        people=people,
        rejected=checked.rejected,
        rows_read=checked.rows_read,
        rows_applied=good.height,
        source=raw.source.name,
        encoding=raw.encoding,
    )
