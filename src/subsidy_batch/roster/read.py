"""Read a roster file (CSV, XLSX, Parquet) into an all-text frame with canonical English headers."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from subsidy_batch.errors import RosterError
from subsidy_batch.frames import cut_like
from subsidy_batch.roster.idnumber import scrub
from subsidy_batch.roster.schema import RosterSchema, header_key

ROW = "row"  # 1-based data row number, as a clerk counts rows below the header
# True where the roster's bank account cell was a number (an XLSX number cell, a numeric Parquet column):
# a number cannot hold a 16-19 digit account exactly, so such an account is never paid
ACCOUNT_NUMBER_CELL = "bank_account_number_cell"
ACCOUNT = "bank_account"
SMALL_FILE = 1 << 20  # a file this small is read whole to see whether it has data rows
_LONE_CR = re.compile(rb"\r(?!\n)")
SUFFIXES = (".parquet", ".xlsx", ".csv", ".xls", ".ods")
# workbooks polars reads through calamine: Excel 2007+, Excel 97-2003, OpenDocument (WPS, LibreOffice)
WORKBOOKS = (".xlsx", ".xls", ".ods")


@dataclass(frozen=True)
class RawRoster:
    frame: pl.DataFrame
    source: Path
    encoding: str
    ignored_columns: tuple[str, ...]  # masked (idnumber.scrub): a header may be a stray ID or account
    skipped: dict[str, int] = field(default_factory=lambda: {"title_rows": 0, "blank_rows": 0, "total_rows": 0})


def _line_ends(data: bytes) -> bytes:
    """Old-Mac line ends (CR alone) become LF; polars would otherwise read the file as one header line."""
    first_cr, first_lf = data.find(b"\r"), data.find(b"\n")
    if first_cr < 0 or (0 <= first_lf < first_cr) or data[first_cr + 1 : first_cr + 2] == b"\n":
        return data  # LF or CRLF line ends, the usual case: the bytes are left as they are
    return _LONE_CR.sub(b"\n", data)


def _separator(data: bytes) -> str:
    """Comma, or tab or semicolon where the header line holds more of those (Excel's "Unicode text" is
    tab-separated, a European-locale CSV semicolon-separated)."""
    header = data[: data.find(b"\n")] if b"\n" in data else data
    counts = {sep: header.count(sep.encode()) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _decode_csv(path: Path, name: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding found; never decodes lossily."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export: UTF-16 with a BOM
        try:
            return _line_ends(data.decode("utf-16").encode("utf-8")), "utf-16"
        except UnicodeDecodeError as exc:
            raise RosterError(f"cannot read {name}: it starts as UTF-16 but is not valid UTF-16") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        data.decode("utf-8")
        return _line_ends(data), encoding
    except UnicodeDecodeError:
        pass
    try:
        return _line_ends(data.decode("gb18030").encode("utf-8")), "gb18030"
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"cannot read {name}: it is neither UTF-8 nor GB18030 (bad byte at offset {exc.start}); "
            "save it from Excel as 'CSV UTF-8' and run again"
        ) from exc


def _read_any(
    path: Path, name: str | None = None, header_row: int = 0
) -> tuple[pl.DataFrame, str, frozenset[str]]:
    """The roster as text, its encoding, and the columns whose every cell is a number (Parquet).

    header_row: how many rows (a title, 填报单位 and 日期 lines) stand above the header.
    """
    name = name or path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data, encoding = _decode_csv(path, name)
            frame = pl.read_csv(
                io.BytesIO(data),
                infer_schema=False,
                truncate_ragged_lines=False,
                separator=_separator(_lines_from(data, header_row)),
                skip_rows=header_row,
            )
            return frame, encoding, frozenset()
        if suffix in WORKBOOKS:
            # empty rows are dropped by read_roster, after it has lined up the number cells of the
            # account column (read separately, row for row) with these rows
            frame = pl.read_excel(
                path,
                sheet_id=1,
                infer_schema_length=0,
                drop_empty_rows=False,
                read_options={"header_row": header_row},
            )
            return frame, suffix[1:], frozenset()
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
            numeric = frozenset(c for c, t in frame.schema.items() if t != pl.String and t != pl.Null)
            return frame.with_columns(pl.exclude(pl.String).cast(pl.String)), "parquet", numeric
    except RosterError:
        raise
    except Exception as exc:  # any reader failure means the file cannot be used; say which and why
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.replace(str(path), name)
        raise RosterError(
            f"cannot read roster {name}: {detail}; check that it opens in Excel or WPS, save it again "
            "as .xlsx or CSV UTF-8 and run again"
        ) from exc
    raise RosterError(f"roster {name} is not .csv, .xlsx, .xls, .ods or .parquet; save it as one of those")


def _lines_from(data: bytes, skip: int) -> bytes:
    for _ in range(skip):
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
    return data


TITLE_ROWS = 10  # how far down a header is looked for, below a title and 填报单位 / 日期 lines


def _header_row(path: Path, name: str, schema: RosterSchema) -> int | None:
    """The row holding the headers when title rows stand above it: the first of the top rows in which
    every required column's header is found; None when there is none."""
    header_map = schema.header_map()
    try:
        if path.suffix.lower() == ".csv":
            data, _ = _decode_csv(path, name)
            top = pl.read_csv(
                io.BytesIO(data),
                has_header=False,
                infer_schema=False,
                n_rows=TITLE_ROWS + 1,
                truncate_ragged_lines=True,
                separator=_separator(_lines_from(data, 1)),
            )
        elif path.suffix.lower() in WORKBOOKS:
            top = pl.read_excel(
                path, sheet_id=1, infer_schema_length=0, read_options={"header_row": None, "n_rows": TITLE_ROWS + 1}
            )
        else:
            return None
    except Exception:  # the first read already succeeded; a failure here only means no header was found
        return None
    for index, row in enumerate(top.iter_rows()):
        found = {header_map.get(header_key(str(cell))) for cell in row if cell is not None}
        if index and all(column in found for column in schema.required):
            return index
    return None


def _other_roster_sheets(path: Path, schema: RosterSchema) -> tuple[list[str], list[str]]:
    """(every sheet name, the sheets after the first whose top rows hold the roster's required headers)."""
    import fastexcel

    header_map = schema.header_map()
    try:
        book = fastexcel.read_excel(path)
        names = list(book.sheet_names)
        found = []
        for index in range(1, len(names)):
            top = pl.DataFrame(book.load_sheet(index, header_row=None, n_rows=TITLE_ROWS + 1).to_polars())
            for row in top.iter_rows():
                headers = {header_map.get(header_key(str(cell))) for cell in row if cell is not None}
                if all(column in headers for column in schema.required):
                    found.append(names[index])
                    break
    except Exception:  # the first sheet was read; a sheet that cannot be looked at holds no roster
        return [], []
    return names, found


def _xlsx_number_cells(path: Path, header: str, height: int, name: str, header_row: int = 0) -> pl.Series:
    """True for each data row whose cell in this column is a number (or boolean) cell, not text.

    fastexcel (calamine) reads a column asked for as "boolean" from number and boolean cells only; a
    text cell, even "6228480012345678", gives null. So non-null here means the cell was not text.
    """
    import fastexcel

    try:
        sheet = fastexcel.read_excel(path).load_sheet(
            0, header_row=header_row, use_columns=[header], dtypes={header: "boolean"}
        )
        cells = pl.DataFrame(sheet.to_polars()).to_series(0)
    except Exception as exc:
        raise RosterError(f"cannot read roster {name}: column {header!r}: {exc}") from exc
    if cells.len() != height:
        raise RosterError(
            f"cannot read roster {name}: column {header!r} has {cells.len()} cells for {height} rows"
        )
    return cells.is_not_null()


def _empty_rows_dropped(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """What polars.read_excel does by default: rows with no value at all are not rows of the roster."""
    if path.suffix.lower() not in WORKBOOKS or not frame.width:
        return frame
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))


def refuse_empty(path: Path) -> None:
    """A roster with a header but no data row has nothing to pay: refuse it before a run is started.

    Parquet says its row count in its footer; a CSV or XLSX file this small is read whole. A larger one
    has rows (a header alone is never a megabyte), and the run checks what it read again.
    """
    name = path.name
    if not path.is_file():
        raise RosterError(f"roster file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        try:
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        except Exception as exc:
            raise RosterError(f"cannot read roster {name}: {exc}") from exc
    elif path.stat().st_size <= SMALL_FILE:
        try:
            frame, _, _ = _read_any(path)
        except RosterError:  # e.g. title rows above the header: the run's own read looks closer
            return
        rows = _empty_rows_dropped(path, frame).height
    else:
        return
    if rows == 0:
        raise_empty(name)


def raise_empty(name: str) -> None:
    raise RosterError(
        f"roster {name} has no data rows (only a header), so there is nothing to pay; "
        "export the roster again with its rows and run again"
    )


def _headers(frame: pl.DataFrame, schema: RosterSchema, name: str) -> tuple[dict[str, str], list[str]]:
    """header -> column for the headers the schema knows, and the headers it does not (ignored)."""
    header_map = schema.header_map()
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for header in frame.columns:
        # polars names a repeated CSV header "<header>_duplicated_<n>": the same column twice
        canonical = header_map.get(header_key(re.sub(r"_duplicated_\d+$", "", header)))
        if canonical is not None and canonical in renames.values():
            first = next(src for src, dst in renames.items() if dst == canonical)
            raise RosterError(
                f"roster {name} has two columns for {canonical} ({schema.columns[canonical].zh}): "
                f"{scrub(first)!r} and {scrub(header)!r}; it is not clear which to use, so keep one and run again"
            )
        if canonical is None:
            ignored.append(header)
        else:
            renames[header] = canonical
    return renames, ignored


def read_roster(path: Path, schema: RosterSchema, name: str | None = None) -> RawRoster:
    """Read every column as text, map English or Chinese headers, and number the data rows from 1."""
    if not path.is_file():
        raise RosterError(f"roster file {path} does not exist")
    name = name or path.name  # the clerk's own file name, in every message
    title_rows = 0
    try:
        frame, encoding, numeric = _read_any(path, name)
        renames, ignored = _headers(frame, schema, name)
        complete = all(c in renames.values() for c in schema.required)
    except RosterError:  # e.g. a CSV whose title line has fewer fields than its rows
        found = _header_row(path, name, schema)
        if found is None:
            raise
        complete = False
    if not complete:
        found = _header_row(path, name, schema)  # a title and 填报单位 lines above the header?
        if found is not None:
            title_rows = found
            frame, encoding, numeric = _read_any(path, name, title_rows)
            renames, ignored = _headers(frame, schema, name)
    if path.suffix.lower() in WORKBOOKS:
        sheets, others = _other_roster_sheets(path, schema)
        if others:  # one sheet per 乡镇 is common: reading only the first would lose the others' people
            raise RosterError(
                f"roster {name} holds roster rows on {len(others) + 1} sheets ({sheets[0]!r} and "
                f"{', '.join(repr(o) for o in others)}); only one sheet is read, so put every row on the first "
                "sheet (or give each sheet as a file of its own) and run again"
            )
    missing = [c for c in schema.required if c not in renames.values()]
    if missing:
        named = ", ".join(f"{c} ({schema.columns[c].zh})" for c in missing)
        raise RosterError(
            f"roster {name} lacks required column(s) {named}; add them with these English or "
            "Chinese headers and run again"
        )
    account = next((src for src, dst in renames.items() if dst == ACCOUNT), None)
    if account is not None and path.suffix.lower() in WORKBOOKS:
        number_cell = _xlsx_number_cells(path, account, frame.height, name, title_rows)
    else:
        number_cell = pl.repeat(account in numeric, frame.height, dtype=pl.Boolean, eager=True)
    if account is not None:
        number_cell = number_cell & frame.get_column(account).is_not_null()
    frame = frame.select(
        [pl.col(src).cast(pl.String).alias(dst) for src, dst in renames.items()]
        + [pl.lit(None, pl.String).alias(c) for c in schema.columns if c not in renames.values()]
    )
    frame = frame.with_columns(cut_like(number_cell.alias(ACCOUNT_NUMBER_CELL), frame.to_series(0)))
    # rows are numbered as the clerk counts them, before blank and total rows are set aside
    rows = pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(ROW)
    frame = frame.insert_column(0, cut_like(rows, frame.to_series(0)) if frame.width else rows)
    frame, skipped = _not_people(frame, list(schema.columns))
    skipped = {"title_rows": title_rows, **skipped}
    return RawRoster(frame, path, encoding, tuple(scrub(h) for h in ignored), skipped)


TOTAL_ROW = r"^\s*(合计|小计|总计|共计)"


def _not_people(frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Set aside rows that are no person: blank rows (no value in any roster column) and 合计 / 小计 rows
    (no ID number or credit code, or 合计 in its place, and a cell starting 合计, 小计, 总计 or 共计). They are counted, never silently lost."""
    empty = [pl.col(c).is_null() | (pl.col(c) == "") for c in columns]
    key = pl.col(columns[0])  # the schema's first column identifies a row (ID number, credit code)
    no_id_expr = empty[0] | key.str.contains(TOTAL_ROW).fill_null(False)  # 合计 often stands in it
    no_id = frame.select(no_id_expr.alias("no_id")).to_series()
    if not no_id.any():  # the usual case: every row has an ID, so no row is looked at again
        return frame, {"blank_rows": 0, "total_rows": 0}
    blank = pl.all_horizontal(empty)
    total = ~blank & no_id_expr & pl.any_horizontal(
        [pl.col(c).str.contains(TOTAL_ROW).fill_null(False) for c in columns]
    )
    marks = frame.select(blank.alias("blank"), total.alias("total"))
    counts = {"blank_rows": int(marks["blank"].sum()), "total_rows": int(marks["total"].sum())}
    if not counts["blank_rows"] and not counts["total_rows"]:
        return frame, counts
    keep = ~(marks["blank"] | marks["total"])
    # select(all().filter()) rather than filter(): it keeps the chunks of text columns as they are
    return frame.select(pl.all().filter(keep)), counts


def default_roster(rosters_dir: Path, county: str, period: str) -> Path:
    """rosters/<county>/<period>.parquet|.xlsx|.csv (CONTRACT.md), or .xls|.ods: exactly one must exist."""
    found = [rosters_dir / county / f"{period}{s}" for s in SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) != 1:
        what = "no roster" if not found else f"{len(found)} rosters ({', '.join(p.name for p in found)})"
        raise RosterError(
            f"found {what} for {county} {period} in {rosters_dir / county}; exactly one of "
            f"{period}.parquet, {period}.xlsx, {period}.csv, {period}.xls or {period}.ods must exist, or "
            "pass --roster PATH"
        )
    return found[0]
