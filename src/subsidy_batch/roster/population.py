"""Read a population list (户籍 extract) for `subsidy crosscheck`: 15-digit IDs converted, every row checked.

The list is read like a roster (any header row, CSV/XLSX/Parquet) with schemas/population.yaml. A 15-digit
first-generation ID is converted to 18 characters by the standard rule before the checks, so that it
matches the roster's ID of the same person. The list's own 出生日期 is the date of birth used; where it
differs from the date in the ID number the row is used and the difference is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from subsidy_batch.errors import RosterError
from subsidy_batch.roster import idnumber
from subsidy_batch.roster.read import ROW, RawRoster, read_roster, said_of
from subsidy_batch.roster.schema import RosterSchema, load_schema, normalise_expr
from subsidy_batch.roster.validate import REJECTED_COLUMNS, _on_their_sheets, check_rows, typed_accepted

BIRTH_DATE_MISMATCH = "birth_date_mismatch"
# the 户籍 statuses that end a claim: such a person is never a candidate, and one on the roster is reported
ENDED = {"dead": "死亡", "moved_out": "迁出", "cancelled": "注销"}
GIVEN = "id_as_given"  # the ID number as the list writes it (15 digits, spaces ...), for the problem report
PROBLEM_COLUMNS = (*REJECTED_COLUMNS, "outcome")  # outcome: rejected (row not used) / used (row used, noted)
PEOPLE_COLUMNS = (
    ROW,
    "id_number",
    "id_key",
    "name",
    "hukou_code",
    "birth_date",
    "id_birth",
    "township",
    "status",
    "from_15_digits",
)


@dataclass(frozen=True)
class PopulationList:
    people: pl.DataFrame  # the rows used, PEOPLE_COLUMNS; birth_date is the list's, id_birth the ID's
    problems: pl.DataFrame  # PROBLEM_COLUMNS: the rejected rows' problems, then the used rows' notes
    rows_read: int
    rejected_rows: int
    source: Path
    skipped: dict[str, int]  # blank and 合计 rows set aside, title rows

    @property
    def mismatches(self) -> int:
        return int((self.problems.get_column("problem") == BIRTH_DATE_MISMATCH).sum())


def _in_population_words(message: str) -> str:
    """A reading error of the shared roster reader, as said of a population list."""
    return said_of(message, "population list").replace("nothing to pay", "nobody to compare")


def _with_18_digits(frame: pl.DataFrame, schema: RosterSchema) -> pl.DataFrame:
    """15-digit IDs (normalised as the schema says) as 18 characters, flagged; the given text kept aside."""
    given = frame.get_column("id_number")
    odd = (given.str.len_bytes() != 18).fill_null(False).arg_true()  # an 18-character ID is never converted
    normalised = frame.select(pl.col("id_number").gather(odd)).select(
        normalise_expr(schema.columns["id_number"])
    )
    converted = normalised.select(
        pl.when(pl.col("id_number").str.contains(r"^[0-9]{15}$")).then(
            idnumber.from_15_digits(pl.col("id_number"))
        )
    ).to_series()
    at = odd.filter(converted.is_not_null())
    ids = given.scatter(at, converted.drop_nulls()) if at.len() else given
    flag = pl.Series("from_15_digits", [False] * frame.height, pl.Boolean)
    if at.len():
        flag = flag.scatter(at, True)
    return frame.with_columns(ids.alias("id_number"), flag, given.alias(GIVEN))


def read_population(
    path: Path, period: str, county: str, schema: RosterSchema | None = None
) -> PopulationList:
    """The population list's usable rows, and the problem of every row (rejected or noted), row numbers kept."""
    if not path.is_file():
        raise RosterError(
            f"population list {path} does not exist (or is not a file); pass --population FILE with the 户籍 extract "
            "(CSV, XLSX, XLS, ODS or Parquet)"
        )
    schema = schema or load_schema("population")
    try:
        raw = read_roster(path, schema, path.name)
    except RosterError as exc:
        raise RosterError(_in_population_words(str(exc))) from exc
    if raw.frame.height == 0:
        raise RosterError(
            f"population list {path.name} has no data rows (only a header), so there is nobody to compare; "
            "export the list again with its rows"
        )
    raw = replace(raw, frame=_with_18_digits(raw.frame, schema))
    checked = check_rows(raw, schema, period, county, key="id_number")
    given = raw.frame.select(ROW, GIVEN)
    rejected = (
        checked.rejected.join(given, on=ROW, how="left", maintain_order="left")
        .with_columns(pl.col(GIVEN).alias("id_number"), outcome=pl.lit("rejected"))
        .select(PROBLEM_COLUMNS)
    )
    people = typed_accepted(
        checked,
        schema,
        pl.col("__id_number.key").alias("id_key"),
        pl.col("__id_number.birth").alias("id_birth"),
    )
    notes = _birth_date_notes(people, raw, period, county)
    return PopulationList(
        people=people.select(PEOPLE_COLUMNS),
        problems=pl.concat([rejected, notes]),
        rows_read=checked.rows_read,
        rejected_rows=checked.rejected.get_column(ROW).n_unique(),
        source=path,
        skipped=dict(raw.skipped),
    )


def _birth_date_notes(people: pl.DataFrame, raw: RawRoster, period: str, county: str) -> pl.DataFrame:
    """A used row whose 出生日期 differs from the ID's date of birth: reported, the list's date kept.

    The message names birth months only: with the masked ID a full date would give the number away.
    """
    differs = people.filter(pl.col("birth_date") != pl.col("id_birth"))
    notes = differs.select(
        pl.lit(period).alias("period"),
        pl.lit(county).alias("county"),
        pl.lit(raw.source.name).alias("source"),
        pl.col(ROW).cast(pl.Int64),
        pl.col(GIVEN).alias("id_number"),
        pl.lit("birth_date").alias("column"),
        pl.lit(BIRTH_DATE_MISMATCH).alias("problem"),
        pl.format(
            "出生日期 (born {} on the list) differs from the date of birth in 公民身份号码 (born {}); the list's "
            "date is used for age: check the 户籍 record and correct whichever is wrong",
            pl.col("birth_date").dt.strftime("%Y-%m"),
            pl.col("id_birth").dt.strftime("%Y-%m"),
        ).alias("message"),
        (pl.col(ROW) + raw.skipped["title_rows"] + 1).cast(pl.Int64).alias("file_row"),
        pl.col("name"),
    )
    if raw.sheets and notes.height:
        notes = _on_their_sheets(notes, raw)
    return notes.with_columns(outcome=pl.lit("used")).select(PROBLEM_COLUMNS)
