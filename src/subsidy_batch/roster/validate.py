"""Normalise the text of a roster, check it with pandera, and split accepted rows from rejections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from subsidy_batch.errors import InternalError
from subsidy_batch.frames import aligned
from subsidy_batch.roster import idnumber
from subsidy_batch.roster.read import ROW, RawRoster, sheet_source
from subsidy_batch.roster.schema import (
    CONTROL,
    OK,
    PERIOD_END,
    RosterSchema,
    failing_columns,
    normalise_with_values,
    pandera_schema,
    with_checks,
)

SENSITIVE = ("id_number", "bank_account")
SHOWN = 60  # characters of a rejected value quoted in its message (a 100,000-character name is not)
REJECTED_COLUMNS = (
    "period",
    "county",
    "source",
    "row",
    "id_number",
    "column",
    "problem",
    "message",
    "file_row",
    "name",
)


@dataclass(frozen=True)
class Validated:
    accepted: pl.DataFrame  # typed: dates are Date, ability_grade is Int8; id_key (UInt64) orders as the ID
    rejected: pl.DataFrame  # one row per (row, problem), REJECTED_COLUMNS order
    rows_read: int

    @property
    def rejected_rows(self) -> int:
        return self.rejected.get_column("row").n_unique()


def _failures(frame: pl.DataFrame, schema: RosterSchema) -> pl.DataFrame:
    """Every (row, column, check) that failed, as pandera reports them with lazy validation.

    pandera looks at the columns where some check fails on these rows (failing_columns), with every check
    of each: a column whose every check passes on every row has nothing to report, and pandera's fixed
    cost is per check (about 3 ms each, 0.07 s for a roster's 31 checks on its 11 failing rows)."""
    import pandera.errors  # on first use: see schema.start_loading_pandera

    try:
        pandera_schema(schema, failing_columns(frame, schema)).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = pl.DataFrame(exc.failure_cases)
        if cases.get_column("index").null_count():
            detail = cases.filter(pl.col("index").is_null()).row(0, named=True)
            raise InternalError(
                f"the roster schema failed as a whole, not row by row ({detail}); nothing was accepted"
            ) from exc
        return cases.select(
            pl.col("index").cast(pl.Int64), pl.col("column"), pl.col("check_number").cast(pl.Int64)
        )
    return pl.DataFrame(schema={"index": pl.Int64, "column": pl.String, "check_number": pl.Int64})


def _problem_table(schema: RosterSchema) -> pl.DataFrame:
    rows = [
        {
            "column": spec.name,
            "check_number": i,
            "problem": chk.problem,
            "template": chk.message,
            "col_order": c,
            "sensitive": spec.name in SENSITIVE,
        }
        for c, spec in enumerate(schema.columns.values())
        for i, chk in enumerate(spec.checks)
    ]
    return pl.DataFrame(rows, schema_overrides={"check_number": pl.Int64})


def _clean(value: pl.Expr) -> pl.Expr:
    """Control characters as U+FFFD, so that no NUL byte or line break reaches a message."""
    return value.str.replace_all(CONTROL, "\ufffd")


def _shown(value: pl.Expr) -> pl.Expr:
    """A rejected value as the message quotes it: cleaned, any ID or account typed into it masked
    (masking.scrub: a township or a name is no sensitive column, but may hold one), and at most SHOWN
    characters."""
    clean = idnumber.scrub_expr(_clean(value))
    return pl.when(clean.str.len_chars() > SHOWN).then(clean.str.head(SHOWN) + pl.lit("…")).otherwise(clean)


@dataclass(frozen=True)
class Checked:
    """Rows split by the schema's checks: the good ones normalised (with the checks' helper values)."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame  # one row per (row, problem), REJECTED_COLUMNS order
    rows_read: int


def check_rows(
    raw: RawRoster,
    schema: RosterSchema,
    period: str,
    county: str,
    key: str,
    period_end: date | None = None,
    hand_over: bool = False,
) -> Checked:
    """Normalise, run every check of the schema, and report every problem of every row through pandera.

    Every check is evaluated on every row in one polars pass (with_checks). pandera then validates the
    rows that fail, with the same check expressions, and reports each failed check of each of them: on a
    roster of millions with a few bad rows that is the same report at a fraction of the cost of letting
    pandera collect every check over every row. `key` is the identifying column (ID number, credit
    code) whose value as given goes into the report. `period_end` is the last day of the period, for
    the checks that compare with it (not_after_period_end). With hand_over the roster lets go of its
    frame once the rows are normalised (RawRoster.hand_over), so that a province's millions of rows are
    not held twice, as read and as normalised; the caller then reads only raw.rows.
    """
    read = raw.hand_over() if hand_over else raw.frame
    given_id = read.get_column(key)
    normalised, values = normalise_with_values(read, schema)
    del read  # with hand_over, the last reference to the cells as read but the key column
    if any(c.kind == "not_after_period_end" for s in schema.columns.values() for c in s.checks):
        if period_end is None:
            raise InternalError(f"{schema.path} checks dates against the period's end, which was not given")
        normalised = normalised.with_columns(pl.lit(period_end, pl.Date).alias(PERIOD_END))
    frame = with_checks(normalised, schema, values)
    bad = frame.get_column(OK).not_().arg_true().cast(pl.Int64)
    given_id = given_id.gather(bad)  # the key as given, of the failing rows only
    found = _failures(frame.drop(ROW, OK).gather(bad), schema)
    failures = found.with_columns(bad.gather(found.get_column("index")).alias("index"))
    if failures.get_column("index").n_unique() != bad.len():
        raise InternalError("pandera and the row checks disagree on which rows fail; nothing was accepted")

    # only the failing rows are looked at again: taken by position, never by scanning the roster
    failing = frame.select(pl.all().gather(bad)).with_columns(index=bad, id_given=given_id)
    long_values = failing.unpivot(index=["index", ROW], on=list(schema.columns), variable_name="column")
    rejected = (
        failures.join(_problem_table(schema), on=["column", "check_number"], how="left")
        .join(long_values, on=["index", "column"], how="left")
        .join(failing.select("index", "id_given", pl.col("name").alias("name_given")), on="index", how="left")
        .with_columns(
            shown=pl.when(pl.col("sensitive"))
            .then(idnumber.mask(_clean(pl.col("value"))))
            .otherwise(_shown(pl.col("value")))
        )
        .with_columns(
            message=pl.when(pl.col("shown").is_not_null())
            .then(pl.format("{} (found: {})", pl.col("template"), pl.col("shown")))
            .otherwise(pl.col("template"))
        )
        .sort(ROW, "col_order", "check_number")
        .select(
            pl.lit(period).alias("period"),
            pl.lit(county).alias("county"),
            pl.lit(raw.source.name).alias("source"),
            pl.col(ROW).cast(pl.Int64),
            pl.col("id_given").alias("id_number"),
            "column",
            "problem",
            "message",
            # the line a clerk finds it on in Excel or a text editor: below the title rows and the header
            (pl.col(ROW) + raw.skipped["title_rows"] + 1).cast(pl.Int64).alias("file_row"),
            pl.col("name_given").alias("name"),
        )
    )
    if raw.sheets:
        rejected = _on_their_sheets(rejected, raw)
    accepted = without_rows(frame.select(pl.exclude(OK, PERIOD_END)), bad, frame.get_column(OK))
    return Checked(accepted=accepted, rejected=rejected, rows_read=frame.height)


FEW = 1_000  # rejected rows up to which the accepted rows are the slices between them


def without_rows(frame: pl.DataFrame, bad: pl.Series, ok: pl.Series) -> pl.DataFrame:
    """frame.filter(ok): the rows but those at the (sorted) positions `bad`, where ok is False.

    An optimisation, equal to the filter (tests/test_read_validate.py): a roster has few bad rows, and
    the slices between them are views of the frame, where a filter copies every string of every column
    (3.4 s and 1.3 GB at 10M people). Many bad rows would leave as many chunks: then the filter.
    """
    if bad.len() == 0:
        return frame
    if bad.len() > FEW:
        # select(all().filter()) rather than filter(): polars 2.1's filter node copied every string of
        # this frame (5 s at 10M rows); this form keeps the chunks whose rows all pass as they are
        return frame.select(pl.all().filter(ok))
    starts = [0, *(int(b) + 1 for b in bad)]
    ends = [*(int(b) for b in bad), frame.height]
    parts = [frame.slice(a, b - a) for a, b in zip(starts, ends, strict=True) if b > a]
    return pl.concat(parts, rechunk=False) if parts else frame.clear()


def _on_their_sheets(rejected: pl.DataFrame, raw: RawRoster) -> pl.DataFrame:
    """Rejected rows of a roster read from several sheets: `source` names the sheet as Excel does
    ([花名册.xlsx]纸坊镇) and `file_row` is the row on that sheet (its title rows and header counted), so
    that a clerk finds the row. `row` still numbers the roster as a whole, rows running on across sheets."""
    sheets = pl.DataFrame(
        {
            "first_row": [s.first_row for s in raw.sheets],
            "sheet_source": [sheet_source(raw.source.name, s.name) for s in raw.sheets],
            "above": [s.title_rows + 1 - s.first_row + 1 for s in raw.sheets],  # file_row = row + above
        },
        schema={"first_row": pl.Int64, "sheet_source": pl.String, "above": pl.Int64},
    )
    placed = rejected.with_row_index("order").join_asof(
        sheets, left_on="row", right_on="first_row", strategy="backward", check_sortedness=False
    )
    return placed.sort("order").select(
        pl.col("sheet_source").alias("source")
        if c == "source"
        else (pl.col("row") + pl.col("above")).cast(pl.Int64).alias("file_row")
        if c == "file_row"
        else pl.col(c)
        for c in rejected.columns
    )


_CASTS: dict[str, pl.DataType] = {"integer": pl.Int64(), "decimal": pl.Decimal(18, 2)}


def typed(schema: RosterSchema) -> list[pl.Expr]:
    """Each accepted column as the schema's `type` says (its checks guarantee the conversion works):
    whole numbers and decimals cast from their text, dates as the checks already parsed them."""
    out = []
    for spec in schema.columns.values():
        if spec.type in _CASTS:
            out.append(pl.col(spec.name).cast(_CASTS[spec.type], strict=True))
        elif spec.type == "date":
            out.append(pl.col(f"__{spec.name}.date").alias(spec.name))
    return out


def typed_accepted(checked: Checked, schema: RosterSchema, *extra: pl.Expr) -> pl.DataFrame:
    """The accepted rows typed as the schema says, with `extra` columns, without the checks' helpers."""
    frame = (
        checked.accepted.lazy().with_columns(*typed(schema), *extra).select(pl.exclude("^__.*$")).collect()
    )
    return aligned(frame)


def validate(
    raw: RawRoster, schema: RosterSchema, period: str, county: str, hand_over: bool = False
) -> Validated:
    """Reject every problem of every bad row; return the good rows typed for the engine (hand_over: as
    check_rows)."""
    checked = check_rows(raw, schema, period, county, key="id_number", hand_over=hand_over)
    accepted = typed_accepted(
        checked,
        schema,
        pl.col("__id_number.key").alias("id_key"),  # orders exactly as the ID text (idnumber.exact_key)
        pl.col("__id_number.birth").alias("birth_date"),  # dates already parsed for the checks
    )
    return Validated(accepted=accepted, rejected=checked.rejected, rows_read=checked.rows_read)
